import { useState } from 'react';
import { App, Button, Flex, Form, Input, Table, Tag } from 'antd';
import { DeleteOutlined, EditOutlined, PlusOutlined } from '@ant-design/icons';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { userGroupsService, type UserGroup, type UserGroupInput } from '../../services/userGroups.ts';
import { Page } from '../../components/Page.tsx';
import { SearchBox } from '../../components/SearchBox.tsx';
import { usePaging } from '../../components/usePaging.ts';
import { UserPicker } from '../../components/pickers.tsx';
import { errorText } from '../../components/apiErrors.ts';
import { useModalSubmit } from '../../components/useModalSubmit.ts';
import { FormDrawer } from '../../components/FormDrawer.tsx';
import { RowActions } from '../../components/RowActions.tsx';

const KEY = ['user-groups'] as const;

function GroupFormModal({ group, onClose, onSubmit }: { group: UserGroup | null; onClose: () => void; onSubmit: (i: UserGroupInput) => Promise<unknown> }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ name: string; comment?: string; users: string[] }>();
  const initial: UserGroupInput = group ? { name: group.name, comment: group.comment, users: group.users.map((u) => u.id) } : { users: [], comment: '' };
  const submit = useModalSubmit({
    form, editing: group, onSubmit, onClose, current: () => initial,
    toInput: (v): UserGroupInput => ({ name: v.name.trim(), comment: v.comment ?? '', users: v.users ?? [] }),
  });
  return (
    <FormDrawer title={group ? t('groups.editTitle', { name: group.name }) : t('groups.createTitle')} onClose={onClose} onSave={submit} width={600}>
      <Form form={form} name="group" layout="vertical" initialValues={initial}>
        <Form.Item name="name" label={t('common.name')} rules={[{ required: true, message: t('common.required', { field: t('common.name') }) }]}>
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="users" label={t('groups.members')}>
          <UserPicker known={group?.users.map((u) => ({ id: u.id, name: u.username }))} />
        </Form.Item>
        <Form.Item name="comment" label={t('common.comment')}>
          <Input.TextArea rows={2} />
        </Form.Item>
      </Form>
    </FormDrawer>
  );
}

export function UserGroupsPage() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const paging = usePaging();
  const list = useQuery({ queryKey: [...KEY, paging.params], queryFn: () => userGroupsService.list(paging.params), placeholderData: keepPreviousData });
  const onSuccess = () => Promise.all([qc.invalidateQueries({ queryKey: KEY }), qc.invalidateQueries({ queryKey: ['users'] })]);
  const create = useMutation({ mutationFn: (i: UserGroupInput) => userGroupsService.create(i), onSuccess });
  const update = useMutation({ mutationFn: ({ id, patch }: { id: string; patch: UserGroupInput }) => userGroupsService.update(id, patch), onSuccess });
  const remove = useMutation({ mutationFn: (id: string) => userGroupsService.remove(id), onSuccess });
  const [editing, setEditing] = useState<{ group: UserGroup | null } | null>(null);

  return (
    <Page title={t('groups.title')} extra={<Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing({ group: null })}>{t('groups.create')}</Button>}>
      <Flex style={{ marginBottom: 16 }}><SearchBox onSearch={paging.setSearch} /></Flex>
      <Table<UserGroup>
        rowKey="id"
        loading={list.isLoading}
        dataSource={list.data?.items ?? []}
        pagination={paging.pagination(list.data?.total)}
        locale={{ emptyText: paging.search ? t('common.noMatch') : t('common.empty') }}
        columns={[
          { title: t('common.name'), dataIndex: 'name', sorter: (a, b) => a.name.localeCompare(b.name) },
          { title: t('forms.memberCount'), key: 'count', render: (_, g) => g.users.length, sorter: (a, b) => a.users.length - b.users.length },
          { title: t('forms.groupMembers'), key: 'members', render: (_, g) => <>{g.users.slice(0, 8).map((u) => <Tag key={u.id}>{u.username}</Tag>)}{g.users.length > 8 ? <Tag>+{g.users.length - 8}</Tag> : null}</> },
          { title: t('common.comment'), dataIndex: 'comment', ellipsis: true },
          {
            title: t('common.actions'), key: 'ops', width: 110,
            render: (_, g) => (
              <RowActions name={g.name} actions={[
                { key: 'edit', label: t('common.edit'), icon: <EditOutlined />, onClick: () => setEditing({ group: g }) },
                {
                  key: 'delete', label: t('common.delete'), icon: <DeleteOutlined />, danger: true, confirm: { title: t('common.confirmDelete', { name: g.name }), okText: t('common.delete') },
                  onClick: async () => { try { await remove.mutateAsync(g.id); void message.success(t('app.deleted')); } catch (e) { void message.error(errorText(e)); } },
                },
              ]} />
            ),
          },
        ]}
      />
      {editing ? (
        <GroupFormModal
          group={editing.group}
          onClose={() => setEditing(null)}
          onSubmit={(input) => (editing.group ? update.mutateAsync({ id: editing.group.id, patch: input }) : create.mutateAsync(input))}
        />
      ) : null}
    </Page>
  );
}
