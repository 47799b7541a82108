import { useMemo, useState } from 'react';
import { App, Button, Flex, Select, Space, Table, Tag, Tooltip, Tree, Typography } from 'antd';
import { CodeOutlined, CopyOutlined, FolderOpenOutlined, StarFilled, StarOutlined } from '@ant-design/icons';
import { Link } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useCopyText } from '../../components/useCopyText.ts';
import { usePhone } from '../../components/usePhone.ts';
import { Page } from '../../components/Page.tsx';
import { SearchBox } from '../../components/SearchBox.tsx';
import { buildNodeTree, subtreeIds } from '../../components/nodeTree.ts';
import { formatTime } from '../../i18n/format.ts';
import { errorText } from '../../components/apiErrors.ts';
import { filesPath, myAssetsService, terminalPath, type MyAssetRow } from '../../services/myAssets.ts';
import { filterRows, MANY_ROWS } from './filterRows.ts';

const KEY = ['me', 'targets'] as const;

/**
 * What an operator may reach, one row per (asset, system user) as core/access grants it:
 * favourites first, then recently used; Connect opens the browser terminal, Files the file
 * manager (with upload or download), and the ssh / scp / sftp commands are ready to copy.
 */
export function MyAssetsPage() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const phone = usePhone();
  const qc = useQueryClient();
  const [search, setSearch] = useState('');
  const [labels, setLabels] = useState<string[]>([]);
  const [node, setNode] = useState<string | null>(null);
  const q = useQuery({ queryKey: KEY, queryFn: () => myAssetsService.list() });
  const favourite = useMutation({
    mutationFn: ({ row, on }: { row: MyAssetRow; on: boolean }) => myAssetsService.setFavourite(row, on),
    onSuccess: () => void qc.invalidateQueries({ queryKey: KEY }),
    onError: (e) => void message.error(errorText(e)),
  });

  const rows = q.data?.items ?? [];
  const nodes = q.data?.nodes ?? [];
  const many = rows.length > MANY_ROWS;
  const allLabels = useMemo(() => [...new Set(rows.flatMap((r) => r.asset.labels))].sort(), [rows]);
  const tree = useMemo(() => buildNodeTree(nodes.map((n) => ({ ...n, path: n.name, assetCount: 0 }))), [nodes]);
  const underNode = useMemo(() => (node ? subtreeIds(nodes.map((n) => ({ ...n, path: n.name, assetCount: 0 })), node) : null), [node, nodes]);
  const shown = filterRows(rows, { search, labels, nodes: underNode });

  const copy = useCopyText();
  const label = (r: MyAssetRow) => `${r.asset.name} ${t('myAssets.as')} ${r.systemUser.name}`;

  const table = (
    <Table<MyAssetRow>
      rowKey={(r) => `${r.asset.id}/${r.systemUser.id}`}
      loading={q.isLoading}
      dataSource={shown}
      pagination={{ pageSize: 50, hideOnSinglePage: true }}
      locale={{ emptyText: rows.length ? t('common.noMatch') : t('myAssets.empty') }}
      style={{ flex: 1, minWidth: 0 }}
      columns={[
        {
          key: 'favourite', width: 48,
          render: (_, r) => (
            <Tooltip title={r.favourite ? t('myAssets.unfavourite') : t('myAssets.favourite')}>
              <Button
                type="text" size="small" aria-pressed={r.favourite} aria-label={`${t('myAssets.favourite')} ${label(r)}`}
                icon={r.favourite ? <StarFilled style={{ color: '#faad14' }} /> : <StarOutlined />}
                onClick={() => favourite.mutate({ row: r, on: !r.favourite })}
              />
            </Tooltip>
          ),
        },
        {
          title: t('assets.name'), key: 'asset',
          render: (_, r) => (
            <Space orientation="vertical" size={0}>
              <Typography.Text strong>{r.asset.name}</Typography.Text>
              <Typography.Text type="secondary">{r.asset.address}:{r.asset.port}</Typography.Text>
              {r.asset.labels.length ? <span>{r.asset.labels.map((l) => <Tag key={l}>{l}</Tag>)}</span> : null}
            </Space>
          ),
        },
        { title: t('myAssets.systemUser'), key: 'systemUser', render: (_, r) => <span>{r.systemUser.name}{r.systemUser.username !== r.systemUser.name ? <Typography.Text type="secondary"> ({r.systemUser.username})</Typography.Text> : null}</span> },
        { title: t('myAssets.actions'), key: 'actions', render: (_, r) => r.actions.map((x) => <Tag key={x} color="blue">{t(`permissions.actionNames.${x}`)}</Tag>) },
        { title: t('myAssets.lastUsed'), key: 'lastUsed', render: (_, r) => (r.lastUsedAt ? formatTime(r.lastUsedAt) : '—') },
        {
          title: t('myAssets.command'), key: 'commands',
          render: (_, r) => (
            <Space orientation="vertical" size={2}>
              <Space size={4}>
                <Typography.Text code className="mono" style={{ whiteSpace: 'nowrap' }} data-testid="command-ssh">{r.commands.ssh}</Typography.Text>
                <Button size="small" icon={<CopyOutlined />} aria-label={`${t('myAssets.copyCommand')} ssh ${label(r)}`} onClick={() => void copy(r.commands.ssh)} />
              </Space>
              <Space size={4}>
                {(['scp', 'sftp'] as const).map((k) => (
                  <Tooltip key={k} title={<span className="mono">{r.commands[k]}</span>}>
                    <Button size="small" className="mono" icon={<CopyOutlined />} data-testid={`command-${k}`} data-command={r.commands[k]} aria-label={`${t('myAssets.copyCommand')} ${k} ${label(r)}`} onClick={() => void copy(r.commands[k])}>{k}</Button>
                  </Tooltip>
                ))}
              </Space>
            </Space>
          ),
        },
        {
          key: 'open',
          render: (_, r) => (
            <Space>
              {r.actions.includes('connect') ? (
                <Link to={terminalPath(r)} aria-label={`${t('myAssets.connect')} ${label(r)}`}><Button type="primary" icon={<CodeOutlined />} tabIndex={-1}>{t('myAssets.connect')}</Button></Link>
              ) : null}
              {r.actions.includes('upload') || r.actions.includes('download') ? (
                <Link to={filesPath(r)} aria-label={`${t('myAssets.files')} ${label(r)}`}><Button icon={<FolderOpenOutlined />} tabIndex={-1}>{t('myAssets.files')}</Button></Link>
              ) : null}
            </Space>
          ),
        },
      ]}
    />
  );

  return (
    <Page title={t('myAssets.title')}>
      <Flex gap={12} wrap style={{ marginBottom: 16 }}>
        <SearchBox onSearch={setSearch} />
        {many && allLabels.length ? (
          <Select mode="multiple" allowClear aria-label={t('myAssets.labels')} placeholder={t('myAssets.labels')} style={{ minWidth: 220 }}
            value={labels} onChange={setLabels} options={allLabels.map((l) => ({ value: l, label: l }))} />
        ) : null}
      </Flex>
      {many && tree.length ? (
        // On a phone the tree goes above the cards: beside them it would squeeze them off the screen.
        <Flex gap={16} align={phone ? 'stretch' : 'start'} vertical={phone}>
          <div style={phone ? undefined : { width: 240, flex: 'none' }} aria-label={t('myAssets.nodes')} role="region">
            <Tree treeData={tree} defaultExpandAll blockNode selectedKeys={node ? [node] : []} onSelect={(keys) => setNode(keys.length ? String(keys[0]) : null)} />
          </div>
          {table}
        </Flex>
      ) : table}
    </Page>
  );
}
