import { useState } from 'react';
import { App, Button, Drawer, Flex, Select, Space, Table, Tag } from 'antd';
import { DeleteOutlined, EditOutlined, PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { ROLES, type Role } from '../../services/common.ts';
import { usersService, type User } from '../../services/users.ts';
import { Page } from '../../components/Page.tsx';
import { SearchBox } from '../../components/SearchBox.tsx';
import { usePaging } from '../../components/usePaging.ts';
import { FilterPicker } from '../../components/pickers.tsx';
import { errorText } from '../../components/apiErrors.ts';
import { formatTime } from '../../i18n/format.ts';
import { KeysPanel } from '../keys/KeysPanel.tsx';
import { GrantedAssetsTable } from '../profile/GrantedAssetsTable.tsx';
import { UserFormModal } from './UserFormModal.tsx';
import { LoginLocksPanel } from './LoginLocksPanel.tsx';
import { MfaPolicyCard } from './MfaPolicyCard.tsx';
import { useUserMutations, useUsers } from './useUsers.ts';
import { BulkBar } from '../../components/BulkBar.tsx';
import { useRowSelection } from '../../components/useRowSelection.ts';
import { useQueryClient } from '@tanstack/react-query';
import { RowActions, type RowAction } from '../../components/RowActions.tsx';

type Editing = { user: User | null } | null;
type StatusFilter = 'active' | 'inactive' | undefined;

export function UserStatus({ user }: { user: User }) {
  const { t } = useTranslation();
  const expired = user.expiresAt !== null && new Date(user.expiresAt).getTime() <= Date.now();
  return (
    <Space size={4} wrap>
      {user.active ? <Tag color="green">{t('common.active')}</Tag> : <Tag>{t('users.disabled')}</Tag>}
      {user.locked ? <Tag color="red">{t('users.locked')}</Tag> : null}
      {expired ? <Tag color="orange">{t('users.expired')}</Tag> : null}
    </Space>
  );
}

export function UsersPage() {
  const { t } = useTranslation();
  const selection = useRowSelection<User>((u) => u.username);
  const qc = useQueryClient();
  const { message } = App.useApp();
  const paging = usePaging();
  const [role, setRole] = useState<Role | undefined>();
  const [status, setStatus] = useState<StatusFilter>();
  const [group, setGroup] = useState<string | undefined>();
  const users = useUsers({ ...paging.params, role, group, active: status === undefined ? undefined : status === 'active' });
  const m = useUserMutations();
  const [editing, setEditing] = useState<Editing>(null);
  const [keysOf, setKeysOf] = useState<User | null>(null);
  const [reachOf, setReachOf] = useState<User | null>(null);

  const run = async (p: Promise<unknown>, ok: string) => {
    try { await p; void message.success(ok); } catch (e) { void message.error(errorText(e)); }
  };

  const rowActions = (u: User): RowAction[] => [
    { key: 'edit', label: t('common.edit'), icon: <EditOutlined />, onClick: () => setEditing({ user: u }) },
    {
      key: 'delete', label: t('common.delete'), icon: <DeleteOutlined />, danger: true, onClick: () => run(m.remove.mutateAsync(u.id), t('app.deleted')),
      confirm: { title: t('common.confirmDelete', { name: u.username }), description: t('common.confirmDeleteHint'), okText: t('common.delete') },
    },
    { key: 'keys', inMenu: true, label: t('users.keys'), onClick: () => setKeysOf(u) },
    { key: 'reach', inMenu: true, label: t('users.reach'), onClick: () => setReachOf(u) },
    u.locked
      ? { key: 'unlock', inMenu: true, label: t('users.unlock'), onClick: () => run(m.unlock.mutateAsync(u.id), t('app.saved')) }
      : { key: 'lock', inMenu: true, label: t('users.lock'), onClick: () => run(m.lock.mutateAsync(u.id), t('app.saved')) },
    {
      key: 'reset-mfa', inMenu: true, label: t('users.resetMfa'), disabled: !u.mfaEnabled, onClick: () => run(m.resetMfa.mutateAsync(u.id), t('app.saved')),
      confirm: { title: t('users.resetMfaConfirm', { name: u.username }), okText: t('users.resetMfa') },
    },
    u.active
      ? { key: 'disable', inMenu: true, label: t('users.disable'), onClick: () => run(m.update.mutateAsync({ id: u.id, patch: { active: false } }), t('app.saved')) }
      : { key: 'enable', inMenu: true, label: t('users.enable'), onClick: () => run(m.update.mutateAsync({ id: u.id, patch: { active: true } }), t('app.saved')) },
  ];

  return (
    <Page
      title={t('users.title')}
      extra={<Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing({ user: null })}>{t('users.create')}</Button>}
    >
      <LoginLocksPanel />
      <MfaPolicyCard />
      <Flex gap={12} wrap style={{ marginBottom: 16 }}>
        <SearchBox onSearch={paging.setSearch} />
        <Select<Role>
          aria-label={t('users.filterRole')}
          placeholder={t('users.filterRole')}
          allowClear
          style={{ width: 180 }}
          value={role}
          onChange={(v) => { setRole(v); paging.resetPage(); }}
          options={ROLES.map((r) => ({ value: r, label: t(`users.roles.${r}`) }))}
        />
        <Select<'active' | 'inactive'>
          aria-label={t('users.filterStatus')}
          placeholder={t('users.filterStatus')}
          allowClear
          style={{ width: 160 }}
          value={status}
          onChange={(v) => { setStatus(v); paging.resetPage(); }}
          options={[{ value: 'active', label: t('common.active') }, { value: 'inactive', label: t('users.disabled') }]}
        />
        <FilterPicker resource="user-groups" label={t('users.filterGroup')} onChange={(g) => { setGroup(g); paging.resetPage(); }} />
      </Flex>
      <BulkBar resource="users" actions={['delete', 'enable', 'disable', 'addToPermission']} selected={selection.selected}
        onDone={() => { selection.clear(); void qc.invalidateQueries({ queryKey: ['users'] }); }} />
      <Table<User>
        rowKey="id"
        rowSelection={selection.rowSelection}
        loading={users.isLoading}
        dataSource={users.data?.items ?? []}
        pagination={paging.pagination(users.data?.total)}
        locale={{ emptyText: paging.search ? t('common.noMatch') : t('common.empty') }}
        scroll={{ x: 1000 }}
        columns={[
          { title: t('users.username'), dataIndex: 'username', sorter: (a, b) => a.username.localeCompare(b.username) },
          { title: t('users.name'), dataIndex: 'name' },
          { title: t('users.role'), dataIndex: 'role', render: (r: Role) => <Tag color={r === 'admin' ? 'volcano' : r === 'auditor' ? 'purple' : 'blue'}>{t(`users.roles.${r}`)}</Tag> },
          { title: t('common.status'), key: 'status', render: (_, u) => <UserStatus user={u} /> },
          { title: t('users.groups'), key: 'groups', render: (_, u) => u.groups.map((g) => <Tag key={g.id}>{g.name}</Tag>) },
          { title: t('users.mfa'), dataIndex: 'mfaEnabled', render: (v: boolean) => (v ? <Tag color="green">{t('users.mfaOn')}</Tag> : <Tag>{t('users.mfaOff')}</Tag>) },
          { title: t('users.lastLogin'), dataIndex: 'lastLoginAt', render: (v: string | null) => (v ? formatTime(v) : t('common.never')), sorter: (a, b) => (a.lastLoginAt ?? '').localeCompare(b.lastLoginAt ?? '') },
          {
            title: t('common.actions'), key: 'actions', fixed: 'right', width: 150,
            render: (_, u) => <RowActions name={u.username} actions={rowActions(u)} />,
          },
        ]}
      />
      {editing ? (
        <UserFormModal
          open
          user={editing.user}
          onClose={() => setEditing(null)}
          onSubmit={(input) => (editing.user ? m.update.mutateAsync({ id: editing.user.id, patch: input }) : m.create.mutateAsync(input))}
        />
      ) : null}
      <Drawer open={!!keysOf} title={`${t('users.keys')} — ${keysOf?.username ?? ''}`} size={720} onClose={() => setKeysOf(null)} destroyOnHidden>
        {keysOf ? (
          <KeysPanel
            queryKey={['users', keysOf.id, 'keys']}
            list={() => usersService.keys(keysOf.id)}
            add={(k, n) => usersService.addKey(keysOf.id, k, n)}
            remove={(id) => usersService.removeKey(keysOf.id, id)}
          />
        ) : null}
      </Drawer>
      <Drawer open={!!reachOf} title={`${t('users.reach')} — ${reachOf?.username ?? ''}`} size={720} onClose={() => setReachOf(null)} destroyOnHidden>
        {reachOf ? <GrantedAssetsTable queryKey={['users', reachOf.id, 'assets']} fetch={() => usersService.assets(reachOf.id)} /> : null}
      </Drawer>
    </Page>
  );
}
