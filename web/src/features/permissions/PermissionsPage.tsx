import { useState } from 'react';
import { App, Button, Flex, Table, Tag } from 'antd';
import { DeleteOutlined, EditOutlined, PlusOutlined } from '@ant-design/icons';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { permissionsService, type Permission, type PermissionInput } from '../../services/permissions.ts';
import type { Ref } from '../../services/common.ts';
import { Page } from '../../components/Page.tsx';
import { SearchBox } from '../../components/SearchBox.tsx';
import { usePaging } from '../../components/usePaging.ts';
import { FilterPicker } from '../../components/pickers.tsx';
import { errorText } from '../../components/apiErrors.ts';
import { formatTime } from '../../i18n/format.ts';
import { PermissionFormModal } from './PermissionFormModal.tsx';
import { BulkBar } from '../../components/BulkBar.tsx';
import { LabelFilter } from '../../components/LabelFilter.tsx';
import { useRowSelection } from '../../components/useRowSelection.ts';
import { RowActions } from '../../components/RowActions.tsx';

const KEY = ['permissions'] as const;

function RefTags({ refs, color }: { refs: Ref[]; color?: string }) {
  const shown = refs.slice(0, 4);
  return <>{shown.map((r) => <Tag key={r.id} color={color}>{r.name}</Tag>)}{refs.length > shown.length ? <Tag>+{refs.length - shown.length}</Tag> : null}</>;
}

export function PermissionsPage() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const paging = usePaging();
  const [user, setUser] = useState<string | undefined>();
  const [asset, setAsset] = useState<string | undefined>();
  const [labels, setLabels] = useState<string[]>([]);
  const params = { ...paging.params, user, asset, labels: labels.length ? labels.join(',') : undefined };
  const selection = useRowSelection<Permission>((p) => p.name);
  const list = useQuery({ queryKey: [...KEY, params], queryFn: () => permissionsService.list(params), placeholderData: keepPreviousData });
  const onSuccess = () => qc.invalidateQueries({ queryKey: KEY });
  const create = useMutation({ mutationFn: (i: PermissionInput) => permissionsService.create(i), onSuccess });
  const update = useMutation({ mutationFn: ({ id, patch }: { id: string; patch: PermissionInput }) => permissionsService.update(id, patch), onSuccess });
  const remove = useMutation({ mutationFn: (id: string) => permissionsService.remove(id), onSuccess });
  const [editing, setEditing] = useState<{ permission: Permission | null } | null>(null);

  const validity = (p: Permission) => (!p.validFrom && !p.validTo ? t('permissions.always') : `${p.validFrom ? formatTime(p.validFrom) : '…'} → ${p.validTo ? formatTime(p.validTo) : '…'}`);

  return (
    <Page title={t('permissions.title')} extra={<Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing({ permission: null })}>{t('permissions.create')}</Button>}>
      <Flex gap={12} wrap style={{ marginBottom: 16 }}>
        <SearchBox onSearch={paging.setSearch} />
        <FilterPicker resource="users" label={t('permissions.filterUser')} onChange={(v) => { setUser(v); paging.resetPage(); }} />
        <FilterPicker resource="assets" label={t('permissions.filterAsset')} onChange={(v) => { setAsset(v); paging.resetPage(); }} />
        <LabelFilter value={labels} onChange={(v) => { setLabels(v); paging.resetPage(); }} />
      </Flex>
      <BulkBar resource="permissions" actions={['delete', 'enable', 'disable']} selected={selection.selected}
        onDone={() => { selection.clear(); void onSuccess(); }} />
      <Table<Permission>
        rowKey="id"
        rowSelection={selection.rowSelection}
        loading={list.isLoading}
        dataSource={list.data?.items ?? []}
        pagination={paging.pagination(list.data?.total)}
        locale={{ emptyText: paging.search ? t('common.noMatch') : t('common.empty') }}
        scroll={{ x: 1100 }}
        columns={[
          { title: t('common.name'), dataIndex: 'name', sorter: (a, b) => a.name.localeCompare(b.name) },
          { title: t('permissions.who'), key: 'who', render: (_, p) => <><RefTags refs={p.users} /><RefTags refs={p.userGroups} color="purple" /></> },
          { title: t('permissions.what'), key: 'what', render: (_, p) => <><RefTags refs={p.assets} /><RefTags refs={p.nodes} color="cyan" /></> },
          { title: t('permissions.systemUsers'), key: 'su', render: (_, p) => <RefTags refs={p.systemUsers} /> },
          { title: t('forms.permissionActions'), key: 'actions', render: (_, p) => p.actions.map((a) => <Tag key={a} color="blue">{t(`permissions.actionNames.${a}`)}</Tag>) },
          { title: t('permissions.validity'), key: 'validity', render: (_, p) => validity(p) },
          { title: t('common.status'), dataIndex: 'active', render: (v: boolean) => (v ? <Tag color="green">{t('common.active')}</Tag> : <Tag>{t('common.inactive')}</Tag>) },
          {
            title: t('common.actions'), key: 'ops', fixed: 'right', width: 110,
            render: (_, p) => (
              <RowActions name={p.name} actions={[
                { key: 'edit', label: t('common.edit'), icon: <EditOutlined />, onClick: () => setEditing({ permission: p }) },
                {
                  key: 'delete', label: t('common.delete'), icon: <DeleteOutlined />, danger: true, confirm: { title: t('common.confirmDelete', { name: p.name }), okText: t('common.delete') },
                  onClick: async () => { try { await remove.mutateAsync(p.id); void message.success(t('app.deleted')); } catch (e) { void message.error(errorText(e)); } },
                },
              ]} />
            ),
          },
        ]}
      />
      {editing ? (
        <PermissionFormModal
          permission={editing.permission}
          onClose={() => setEditing(null)}
          onSubmit={(input) => (editing.permission ? update.mutateAsync({ id: editing.permission.id, patch: input }) : create.mutateAsync(input))}
        />
      ) : null}
    </Page>
  );
}
