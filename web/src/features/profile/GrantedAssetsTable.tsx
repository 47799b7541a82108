import { Button, Space, Table, Tag, Typography } from 'antd';
import { CopyOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useCopyText } from '../../components/useCopyText.ts';
import type { ListPage } from '../../services/api.ts';
import type { GrantedAsset } from '../../services/grants.ts';

/** Granted assets as decided by core/access (never computed here): for "my assets" and "what can this user reach". */
export function GrantedAssetsTable({ queryKey, fetch, withCommand = false, emptyText }: {
  queryKey: readonly unknown[];
  fetch: () => Promise<ListPage<GrantedAsset>>;
  withCommand?: boolean;
  emptyText?: string;
}) {
  const { t } = useTranslation();
  const q = useQuery({ queryKey, queryFn: fetch });

  const copy = useCopyText();

  return (
    <Table<GrantedAsset>
      rowKey="id"
      loading={q.isLoading}
      dataSource={q.data?.items ?? []}
      pagination={{ pageSize: 20, hideOnSinglePage: true }}
      locale={{ emptyText: emptyText ?? t('common.empty') }}
      columns={[
        { title: t('assets.name'), dataIndex: 'name', sorter: (a, b) => a.name.localeCompare(b.name) },
        { title: t('assets.address'), key: 'address', render: (_, a) => `${a.address}:${a.port}` },
        { title: t('assets.platform'), dataIndex: 'platform' },
        {
          title: t('myAssets.systemUsers'), key: 'systemUsers',
          render: (_, a) => (
            <Space orientation="vertical" size={2}>
              {a.systemUsers.map((s) => (
                <span key={s.id}>
                  <Tag>{s.username}</Tag>
                  {s.actions.map((x) => <Tag key={x} color="blue">{t(`permissions.actionNames.${x as 'connect'}`, x)}</Tag>)}
                </span>
              ))}
            </Space>
          ),
        },
        ...(withCommand
          ? [{
              title: t('myAssets.command'), key: 'command',
              render: (_: unknown, a: GrantedAsset) => a.sshCommand ? (
                <Space>
                  <Typography.Text code className="mono" data-testid="ssh-command">{a.sshCommand}</Typography.Text>
                  <Button size="small" icon={<CopyOutlined />} aria-label={`${t('myAssets.copyCommand')} ${a.name}`} onClick={() => void copy(a.sshCommand!)} />
                </Space>
              ) : null,
            }]
          : []),
      ]}
    />
  );
}
