import { useState } from 'react';
import { Alert, Button, Form, Modal, Table, Tag, Typography, Upload } from 'antd';
import { UploadOutlined } from '@ant-design/icons';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { assetsService, type Platform } from '../../services/assets.ts';
import { errorText } from '../../components/apiErrors.ts';
import { ApiError } from '../../services/api.ts';
import { i18n } from '../../i18n/index.ts';

import { NODES_KEY } from '../../components/NodePicker.tsx';
import { assetRows, type AssetCsvRow } from './csv.ts';
import { ASSETS_KEY } from './useAssets.ts';

/** The row's refusal with the column it is about, e.g. “Address: Not in the expected format.” */
function fieldError(e: unknown): string {
  const field = e instanceof ApiError ? e.field?.split('.')[0] : undefined;
  if (!field) return errorText(e);
  const label = i18n.exists(`assets.${field}`) ? String(i18n.t(`assets.${field}` as 'assets.address')) : field;
  return `${label}: ${errorText(e)}`;
}

interface RowResult {
  line: number;
  name: string;
  ok: boolean;
  message: string;
}

/** Bulk import: each CSV row is created through the API one by one, with a per-row report. */
export function CsvImportModal({ node, onClose }: { node: string | null; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [rows, setRows] = useState<AssetCsvRow[] | null>(null);
  const [fileName, setFileName] = useState('');
  const [results, setResults] = useState<RowResult[]>([]);
  const [running, setRunning] = useState(false);

  const run = async () => {
    if (!rows) return;
    setRunning(true);
    const out: RowResult[] = [];
    for (const r of rows) {
      try {
        await assetsService.create({
          name: r.name, address: r.address, port: r.port, platform: r.platform as Platform | undefined, labels: r.labels, comment: r.comment,
          nodes: node ? [node] : undefined,
        });
        out.push({ line: r.line, name: r.name, ok: true, message: t('assets.importOk') });
      } catch (e) {
        out.push({ line: r.line, name: r.name, ok: false, message: fieldError(e) });
      }
      setResults([...out]);
    }
    setRunning(false);
    await Promise.all([qc.invalidateQueries({ queryKey: ASSETS_KEY }), qc.invalidateQueries({ queryKey: NODES_KEY })]);
  };

  const ok = results.filter((r) => r.ok).length;
  return (
    <Modal open title={t('assets.importTitle')} onCancel={onClose} footer={[
      <Button key="close" onClick={onClose}>{t('common.close')}</Button>,
      <Button key="run" type="primary" disabled={!rows?.length || running || results.length > 0} loading={running} onClick={() => void run()}>{t('assets.importRun')}</Button>,
    ]} width={720}>
      <Typography.Paragraph type="secondary">{t('assets.importHint')}</Typography.Paragraph>
      <Form layout="vertical">
        <Form.Item label={t('assets.importFile')} htmlFor="asset-csv-file">
          <Upload
            accept=".csv,text/csv"
            maxCount={1}
            showUploadList={false}
            beforeUpload={async (file) => {
              setRows(assetRows(await file.text()));
              setFileName(file.name);
              setResults([]);
              return false;
            }}
          >
            <Button id="asset-csv-file" icon={<UploadOutlined />}>{fileName || t('assets.importFile')}</Button>
          </Upload>
        </Form.Item>
      </Form>
      {rows && results.length === 0 ? <Typography.Paragraph>{rows.length} × {t('assets.title')}</Typography.Paragraph> : null}
      {results.length ? (
        <>
          <Alert type={ok === results.length ? 'success' : 'warning'} showIcon title={t('assets.importSummary', { ok, failed: results.length - ok })} style={{ marginBottom: 12 }} />
          <Table<RowResult>
            rowKey="line"
            size="small"
            dataSource={results}
            pagination={false}
            columns={[
              { title: t('assets.importRow'), dataIndex: 'line', width: 70 },
              { title: t('assets.name'), dataIndex: 'name' },
              { title: t('assets.importResult'), key: 'r', render: (_, r) => (r.ok ? <Tag color="green">{r.message}</Tag> : <Typography.Text type="danger">{r.message}</Typography.Text>) },
            ]}
          />
        </>
      ) : null}
    </Modal>
  );
}
