import { useState } from 'react';
import { Alert, App, Button, Col, Flex, Row, Table, Tag, Typography } from 'antd';
import { DeleteOutlined, EditOutlined, PlusOutlined } from '@ant-design/icons';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { commandFiltersService, type CommandFilter, type CommandFilterInput } from '../../services/commandFilters.ts';
import { Page } from '../../components/Page.tsx';
import { SearchBox } from '../../components/SearchBox.tsx';
import { usePaging } from '../../components/usePaging.ts';
import { errorText } from '../../components/apiErrors.ts';
import { CommandFilterFormModal } from './CommandFilterFormModal.tsx';
import { ACTION_COLORS, TryCommandCard } from './TryCommandCard.tsx';
import { ConfirmationsPanel } from './ConfirmationsPanel.tsx';
import { RowActions } from '../../components/RowActions.tsx';

const KEY = ['command-filters'] as const;

function Scope({ f }: { f: CommandFilter }) {
  const { t } = useTranslation();
  const kinds = ['users', 'userGroups', 'assets', 'nodes', 'systemUsers'] as const;
  const parts = kinds.filter((k) => f.scopeNames[k].length > 0);
  if (parts.length === 0) return <Tag>{t('filters.everyone')}</Tag>;
  return <>{parts.map((k) => <Tag key={k} title={t(`filters.scopeCount.${k}`, { count: f.scopeNames[k].length })}>{f.scopeNames[k].map((r) => r.name).join(', ')}</Tag>)}</>;
}

/** Command filters (deny, confirm, allow; lower priority first), a box to try a command, and the commands held for confirmation. */
export function CommandFiltersPage() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const paging = usePaging();
  const list = useQuery({ queryKey: [...KEY, paging.params], queryFn: () => commandFiltersService.list(paging.params), placeholderData: keepPreviousData });
  const onSuccess = () => qc.invalidateQueries({ queryKey: KEY });
  const create = useMutation({ mutationFn: (i: CommandFilterInput) => commandFiltersService.create(i), onSuccess });
  const update = useMutation({ mutationFn: ({ id, patch }: { id: string; patch: CommandFilterInput }) => commandFiltersService.update(id, patch), onSuccess });
  const remove = useMutation({ mutationFn: (id: string) => commandFiltersService.remove(id), onSuccess });
  const [editing, setEditing] = useState<{ filter: CommandFilter | null } | null>(null);

  return (
    <Page title={t('filters.title')} extra={<Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing({ filter: null })}>{t('filters.create')}</Button>}>
      <Flex vertical gap={16}>
        <Alert type="info" showIcon message={t('filters.notSandboxTitle')} description={t('filters.notSandbox')} />
        <ConfirmationsPanel />
        <Row gutter={16}>
          <Col xs={24} xl={16}>
            <Flex style={{ marginBottom: 16 }}><SearchBox onSearch={paging.setSearch} /></Flex>
            <Table<CommandFilter>
              rowKey="id"
              loading={list.isLoading}
              dataSource={list.data?.items ?? []}
              pagination={paging.pagination(list.data?.total)}
              locale={{ emptyText: paging.search ? t('common.noMatch') : t('filters.empty') }}
              scroll={{ x: 900 }}
              columns={[
                { title: t('filters.priority'), dataIndex: 'priority', width: 80 },
                { title: t('common.name'), dataIndex: 'name' },
                { title: t('filters.kind'), dataIndex: 'kind', width: 110, render: (v: 'regex' | 'commands') => t(`filters.kinds.${v}`) },
                { title: t('filters.pattern'), dataIndex: 'pattern', render: (v: string) => <Typography.Text code className="mono" ellipsis={{ tooltip: v }} style={{ maxWidth: 260 }}>{v}</Typography.Text> },
                { title: t('filters.action'), dataIndex: 'action', width: 120, render: (v: 'deny' | 'allow' | 'confirm') => <Tag color={ACTION_COLORS[v]}>{t(`filters.actions.${v}`)}</Tag> },
                { title: t('filters.scope'), key: 'scope', render: (_, f) => <Scope f={f} /> },
                { title: t('common.status'), dataIndex: 'active', width: 90, render: (v: boolean) => (v ? <Tag color="green">{t('common.active')}</Tag> : <Tag>{t('common.inactive')}</Tag>) },
                {
                  title: t('common.actions'), key: 'ops', fixed: 'right', width: 100,
                  render: (_, f) => (
                    <RowActions name={f.name} actions={[
                      { key: 'edit', label: t('common.edit'), icon: <EditOutlined />, onClick: () => setEditing({ filter: f }) },
                      {
                        key: 'delete', label: t('common.delete'), icon: <DeleteOutlined />, danger: true, confirm: { title: t('common.confirmDelete', { name: f.name }), okText: t('common.delete') },
                        onClick: async () => { try { await remove.mutateAsync(f.id); void message.success(t('app.deleted')); } catch (e) { void message.error(errorText(e)); } },
                      },
                    ]} />
                  ),
                },
              ]}
            />
          </Col>
          <Col xs={24} xl={8}><TryCommandCard /></Col>
        </Row>
      </Flex>
      {editing ? (
        <CommandFilterFormModal
          filter={editing.filter}
          onClose={() => setEditing(null)}
          onSubmit={(input) => (editing.filter ? update.mutateAsync({ id: editing.filter.id, patch: input }) : create.mutateAsync(input))}
        />
      ) : null}
    </Page>
  );
}
