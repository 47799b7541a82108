import { useState } from 'react';
import { Alert, App, Button, Flex, Table, Tag } from 'antd';
import { CloudUploadOutlined, DeleteOutlined, EditOutlined, PlusOutlined } from '@ant-design/icons';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { accountsService, type AccountInput, type AccountKind, type AdminUser, type SystemUser } from '../../services/accounts.ts';
import { Page } from '../../components/Page.tsx';
import { SearchBox } from '../../components/SearchBox.tsx';
import { usePaging } from '../../components/usePaging.ts';
import { errorText } from '../../components/apiErrors.ts';
import { AccountFormModal } from './AccountFormModal.tsx';
import { PushSystemUserModal } from './PushSystemUserModal.tsx';
import { BulkBar } from '../../components/BulkBar.tsx';
import { useRowSelection } from '../../components/useRowSelection.ts';
import { RowActions } from '../../components/RowActions.tsx';

type Account = SystemUser | AdminUser;

/** The list page shared by system users and admin users. */
export function AccountsPage({ kind }: { kind: AccountKind }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const paging = usePaging();
  const service = accountsService(kind);
  const system = kind === 'system-users';
  const list = useQuery({ queryKey: [kind, paging.params], queryFn: () => service.list(paging.params), placeholderData: keepPreviousData });
  const onSuccess = () => qc.invalidateQueries({ queryKey: [kind] });
  const create = useMutation({ mutationFn: (i: AccountInput) => service.create(i), onSuccess });
  const update = useMutation({ mutationFn: ({ id, patch }: { id: string; patch: AccountInput }) => service.update(id, patch), onSuccess });
  const remove = useMutation({ mutationFn: (id: string) => service.remove(id), onSuccess });
  const [editing, setEditing] = useState<{ account: Account | null } | null>(null);
  const [pushing, setPushing] = useState<SystemUser | null>(null);
  const selection = useRowSelection<Account>((a) => a.name);

  const secret = (set: boolean) => (set ? <Tag color="green">{t('accounts.secretSet')}</Tag> : <Tag>{t('accounts.secretNotSet')}</Tag>);

  return (
    <Page
      title={system ? t('accounts.systemUsersTitle') : t('accounts.adminUsersTitle')}
      extra={<Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing({ account: null })}>{system ? t('accounts.createSystemUser') : t('accounts.createAdminUser')}</Button>}
    >
      {system ? null : <Alert type="info" showIcon title={t('accounts.adminUsersHint')} style={{ marginBottom: 16 }} />}
      <Flex style={{ marginBottom: 16 }}><SearchBox onSearch={paging.setSearch} /></Flex>
      {system ? <BulkBar resource="system-users" actions={['delete', 'addToPermission']} selected={selection.selected} onDone={() => { selection.clear(); void onSuccess(); }} /> : null}
      <Table<Account>
        rowKey="id"
        rowSelection={system ? selection.rowSelection : undefined}
        loading={list.isLoading}
        dataSource={list.data?.items ?? []}
        pagination={paging.pagination(list.data?.total)}
        locale={{ emptyText: paging.search ? t('common.noMatch') : t('common.empty') }}
        scroll={{ x: 800 }}
        columns={[
          { title: t('accounts.name'), dataIndex: 'name', sorter: (a, b) => a.name.localeCompare(b.name) },
          { title: t('accounts.username'), dataIndex: 'username' },
          { title: t('accounts.password'), dataIndex: 'hasPassword', render: secret },
          { title: t('accounts.privateKey'), dataIndex: 'hasPrivateKey', render: secret },
          ...(system
            ? [
                { title: t('accounts.loginMode'), key: 'loginMode', render: (_: unknown, a: Account) => t(`accounts.loginModeShort.${(a as SystemUser).loginMode}`) },
                { title: t('accounts.priority'), key: 'priority', render: (_: unknown, a: Account) => (a as SystemUser).priority },
              ]
            : []),
          { title: t('common.comment'), dataIndex: 'comment', ellipsis: true },
          {
            title: t('common.actions'), key: 'actions', fixed: 'right' as const, width: system ? 190 : 110,
            render: (_: unknown, a: Account) => (
              <RowActions name={a.name} actions={[
                ...(system ? [{ key: 'push', label: t('accounts.push'), icon: <CloudUploadOutlined />, withText: true, onClick: () => setPushing(a as SystemUser) }] : []),
                { key: 'edit', label: t('common.edit'), icon: <EditOutlined />, onClick: () => setEditing({ account: a }) },
                {
                  key: 'delete', label: t('common.delete'), icon: <DeleteOutlined />, danger: true,
                  confirm: { title: t('common.confirmDelete', { name: a.name }), description: t('common.confirmDeleteHint'), okText: t('common.delete') },
                  onClick: async () => { try { await remove.mutateAsync(a.id); void message.success(t('app.deleted')); } catch (e) { void message.error(errorText(e)); } },
                },
              ]} />
            ),
          },
        ]}
      />
      {editing ? (
        <AccountFormModal
          kind={kind}
          account={editing.account}
          onClose={() => setEditing(null)}
          onSubmit={(input) => (editing.account ? update.mutateAsync({ id: editing.account.id, patch: input }) : create.mutateAsync(input))}
        />
      ) : null}
      {pushing ? <PushSystemUserModal systemUser={pushing} onClose={() => setPushing(null)} /> : null}
    </Page>
  );
}
