import { useState } from 'react';
import { Link } from 'react-router';
import { App, Button, Card, Col, Flex, Row, Select, Table, Tag } from 'antd';
import { DeleteOutlined, EditOutlined, PlusOutlined, UploadOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { PLATFORMS, type Asset } from '../../services/assets.ts';
import { Page } from '../../components/Page.tsx';
import { SearchBox } from '../../components/SearchBox.tsx';
import { usePaging } from '../../components/usePaging.ts';
import { enumText, errorText } from '../../components/apiErrors.ts';
import { AssetFormModal } from './AssetFormModal.tsx';
import { CsvImportModal } from './CsvImportModal.tsx';
import { NodeTree } from './NodeTree.tsx';
import { LastTestTag } from './LastTestTag.tsx';
import { ASSETS_KEY, useAssetMutations, useAssets } from './useAssets.ts';
import { BulkBar } from '../../components/BulkBar.tsx';
import { LabelFilter } from '../../components/LabelFilter.tsx';
import { useRowSelection } from '../../components/useRowSelection.ts';
import { useQueryClient } from '@tanstack/react-query';
import { NODES_KEY } from '../../components/NodePicker.tsx';
import { RowActions } from '../../components/RowActions.tsx';

export function AssetsPage() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const paging = usePaging();
  const [node, setNode] = useState<string | null>(null);
  const [platform, setPlatform] = useState<string | undefined>();
  const [labels, setLabels] = useState<string[]>([]);
  const assets = useAssets({ ...paging.params, node: node ?? undefined, platform, labels: labels.length ? labels.join(',') : undefined });
  const selection = useRowSelection<Asset>((a) => a.name);
  const qc = useQueryClient();
  const m = useAssetMutations();
  const [editing, setEditing] = useState<{ asset: Asset | null } | null>(null);
  const [importing, setImporting] = useState(false);

  const remove = async (a: Asset) => {
    try { await m.remove.mutateAsync(a.id); void message.success(t('app.deleted')); } catch (e) { void message.error(errorText(e)); }
  };

  return (
    <Page
      title={t('assets.title')}
      extra={(
        <>
          <Button icon={<UploadOutlined />} onClick={() => setImporting(true)}>{t('assets.importCsv')}</Button>
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing({ asset: null })}>{t('assets.create')}</Button>
        </>
      )}
    >
      <Row gutter={16}>
        <Col xs={24} md={7} xl={6}>
          <Card size="small" title={t('nodes.title')} extra={node ? <Button type="link" size="small" onClick={() => setNode(null)}>{t('nodes.allAssets')}</Button> : null}>
            <NodeTree selected={node} onSelect={(id) => { setNode(id); paging.resetPage(); }} />
          </Card>
        </Col>
        <Col xs={24} md={17} xl={18}>
          <Flex gap={12} wrap style={{ marginBottom: 16 }}>
            <SearchBox onSearch={paging.setSearch} />
            <Select
              aria-label={t('assets.filterPlatform')}
              placeholder={t('assets.filterPlatform')}
              allowClear
              style={{ width: 180 }}
              value={platform}
              onChange={(v) => { setPlatform(v); paging.resetPage(); }}
              options={PLATFORMS.map((p) => ({ value: p, label: enumText('platform', p) }))}
            />
            <LabelFilter value={labels} onChange={(v) => { setLabels(v); paging.resetPage(); }} />
          </Flex>
          <BulkBar
            resource="assets"
            actions={['delete', 'enable', 'disable', 'move', 'test', 'facts', 'addToPermission']}
            selected={selection.selected}
            onDone={() => { selection.clear(); void qc.invalidateQueries({ queryKey: ASSETS_KEY }); void qc.invalidateQueries({ queryKey: NODES_KEY }); }}
          />
          <Table<Asset>
            rowKey="id"
            rowSelection={selection.rowSelection}
            loading={assets.isLoading}
            dataSource={assets.data?.items ?? []}
            pagination={paging.pagination(assets.data?.total)}
            locale={{ emptyText: paging.search ? t('common.noMatch') : t('common.empty') }}
            scroll={{ x: 800 }}
            columns={[
              { title: t('assets.name'), dataIndex: 'name', sorter: (a, b) => a.name.localeCompare(b.name), render: (v: string, a) => <Link to={`/assets/${a.id}`}>{v}</Link> },
              { title: t('assets.address'), key: 'address', render: (_, a) => `${a.address}:${a.port}` },
              { title: t('assets.platform'), dataIndex: 'platform', render: (p: string) => enumText('platform', p) },
              { title: t('assets.nodes'), key: 'nodes', render: (_, a) => a.nodes.map((n) => <Tag key={n.id}>{n.name}</Tag>) },
              // A label is a filter: clicking it keeps the assets that carry it.
              { title: t('assets.labels'), key: 'labels', render: (_, a) => a.labels.map((l) => <Tag key={l} color="geekblue" style={{ cursor: 'pointer' }} onClick={() => { setLabels((cur) => (cur.includes(l) ? cur : [...cur, l])); paging.resetPage(); }}>{l}</Tag>) },
              { title: t('assets.lastTest'), key: 'lastTest', render: (_, a) => <LastTestTag test={a.lastTest} /> },
              { title: t('common.status'), dataIndex: 'active', render: (v: boolean) => (v ? <Tag color="green">{t('common.active')}</Tag> : <Tag>{t('common.inactive')}</Tag>) },
              {
                title: t('common.actions'), key: 'actions', fixed: 'right', width: 110,
                render: (_, a) => (
                  <RowActions name={a.name} actions={[
                    { key: 'edit', label: t('common.edit'), icon: <EditOutlined />, onClick: () => setEditing({ asset: a }) },
                    { key: 'delete', label: t('common.delete'), icon: <DeleteOutlined />, danger: true, onClick: () => remove(a), confirm: { title: t('common.confirmDelete', { name: a.name }), description: t('common.confirmDeleteHint'), okText: t('common.delete') } },
                  ]} />
                ),
              },
            ]}
          />
        </Col>
      </Row>
      {editing ? (
        <AssetFormModal
          asset={editing.asset}
          defaultNode={node}
          onClose={() => setEditing(null)}
          onSubmit={(input) => (editing.asset ? m.update.mutateAsync({ id: editing.asset.id, patch: input }) : m.create.mutateAsync(input))}
        />
      ) : null}
      {importing ? <CsvImportModal node={node} onClose={() => setImporting(false)} /> : null}
    </Page>
  );
}
