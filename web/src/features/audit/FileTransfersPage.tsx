import { useState } from 'react';
import { Link } from 'react-router';
import { DatePicker, Flex, Input, Select, Table, Tag, Typography } from 'antd';
import type { Dayjs } from 'dayjs';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { auditService, csvUrl, FILE_OPERATIONS, type FileOperation, type FileTransfer, type FileTransferParams } from '../../services/audit.ts';
import { sessionPath } from '../../services/sessions.ts';
import { Page } from '../../components/Page.tsx';
import { CsvExportButton } from '../../components/CsvExportButton.tsx';
import { usePaging } from '../../components/usePaging.ts';
import { formatBytes, formatTime } from '../../i18n/format.ts';

type Range = [Dayjs | null, Dayjs | null] | null;

/** SFTP and scp operations through the gateway, allowed and refused, with filters and CSV export. */
export function FileTransfersPage() {
  const { t } = useTranslation();
  const paging = usePaging();
  const [user, setUser] = useState('');
  const [asset, setAsset] = useState('');
  const [operation, setOperation] = useState<FileOperation | undefined>();
  const [ok, setOk] = useState<boolean | undefined>();
  const [range, setRange] = useState<Range>(null);
  const params: FileTransferParams = {
    limit: paging.params.limit, offset: paging.params.offset, user: user || undefined, asset: asset || undefined, operation, ok,
    from: range?.[0]?.startOf('day').toISOString(), to: range?.[1]?.endOf('day').toISOString(),
  };
  const list = useQuery({ queryKey: ['audit', 'file-transfers', params], queryFn: () => auditService.fileTransfers(params), placeholderData: keepPreviousData });

  return (
    <Page title={t('transfers.title')} extra={<CsvExportButton href={csvUrl('/audit/file-transfers', { ...params })} />}>
      <Flex gap={12} wrap style={{ marginBottom: 16 }}>
        <Input.Search aria-label={t('sessions.user')} placeholder={t('sessions.user')} allowClear style={{ width: 170 }} onSearch={(v) => { setUser(v.trim()); paging.resetPage(); }} />
        <Input.Search aria-label={t('sessions.asset')} placeholder={t('sessions.asset')} allowClear style={{ width: 170 }} onSearch={(v) => { setAsset(v.trim()); paging.resetPage(); }} />
        <Select aria-label={t('transfers.operation')} placeholder={t('transfers.operation')} allowClear style={{ width: 150 }} value={operation}
          onChange={(v) => { setOperation(v); paging.resetPage(); }} options={FILE_OPERATIONS.map((o) => ({ value: o, label: t(`transfers.operations.${o}`) }))} />
        <Select aria-label={t('audit.result')} placeholder={t('audit.result')} allowClear style={{ width: 140 }} value={ok === undefined ? undefined : ok ? 'ok' : 'fail'}
          onChange={(v) => { setOk(v === undefined ? undefined : v === 'ok'); paging.resetPage(); }}
          options={[{ value: 'ok', label: t('transfers.allowed') }, { value: 'fail', label: t('transfers.refused') }]} />
        <DatePicker.RangePicker aria-label={t('common.dateRange')} value={range} onChange={(v) => { setRange(v); paging.resetPage(); }} />
      </Flex>
      <Table<FileTransfer>
        rowKey="id"
        size="small"
        loading={list.isLoading}
        dataSource={list.data?.items ?? []}
        pagination={paging.pagination(list.data?.total)}
        locale={{ emptyText: user || asset || operation || ok !== undefined || range ? t('common.noMatch') : t('common.empty') }}
        scroll={{ x: 1100 }}
        columns={[
          { title: t('audit.time'), dataIndex: 'createdAt', width: 170, render: formatTime },
          { title: t('sessions.user'), key: 'user', render: (_, f) => f.user.username },
          { title: t('sessions.asset'), key: 'asset', render: (_, f) => f.asset.name },
          { title: t('sessions.systemUser'), dataIndex: 'systemUsername' },
          { title: t('transfers.operation'), dataIndex: 'operation', render: (v: string) => <Tag>{t(`transfers.operations.${v as FileOperation}`, v)}</Tag> },
          {
            title: t('transfers.path'), key: 'path',
            render: (_, f) => <Typography.Text className="mono">{f.path}{f.targetPath ? ` → ${f.targetPath}` : ''}</Typography.Text>,
          },
          { title: t('transfers.size'), dataIndex: 'size', width: 100, render: formatBytes },
          { title: t('audit.result'), dataIndex: 'ok', width: 100, render: (v: boolean) => (v ? <Tag color="green">{t('transfers.allowed')}</Tag> : <Tag color="red">{t('transfers.refused')}</Tag>) },
          { title: t('transfers.message'), dataIndex: 'message', ellipsis: true },
          { title: t('transfers.session'), dataIndex: 'sessionId', width: 110, render: (v: string | null) => (v ? <Link to={sessionPath(v)}>{t('sessionDetail.open')}</Link> : '—') },
        ]}
      />
    </Page>
  );
}
