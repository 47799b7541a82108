import { useState } from 'react';
import { App, Button, Form, Input, Popconfirm, Table, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import type { UserKey } from '../../services/userKeys.ts';
import { applyFieldError, errorText } from '../../components/apiErrors.ts';
import { formatTime } from '../../i18n/format.ts';

interface Props {
  queryKey: readonly unknown[];
  list: () => Promise<UserKey[]>;
  add: (publicKey: string, name?: string) => Promise<UserKey>;
  remove: (id: string) => Promise<void>;
}

/** A user's OpenSSH public keys: add by paste, show the fingerprint, delete. Used by the users page and the profile. */
export function KeysPanel({ queryKey, list, add, remove }: Props) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const [form] = Form.useForm<{ publicKey: string; name?: string }>();
  const [adding, setAdding] = useState(false);
  const keys = useQuery({ queryKey, queryFn: list });
  const addKey = useMutation({
    mutationFn: (v: { publicKey: string; name?: string }) => add(v.publicKey.trim(), v.name?.trim() || undefined),
    onSuccess: () => { form.resetFields(); setAdding(false); void qc.invalidateQueries({ queryKey }); void message.success(t('app.created')); },
    onError: (e) => { if (!applyFieldError(form, e)) form.setFields([{ name: 'publicKey', errors: [errorText(e)] }]); },
  });
  const removeKey = useMutation({
    mutationFn: remove,
    onSuccess: () => { void qc.invalidateQueries({ queryKey }); void message.success(t('app.deleted')); },
    onError: (e) => void message.error(errorText(e)),
  });

  return (
    <div>
      <Table<UserKey>
        rowKey="id"
        size="small"
        loading={keys.isLoading}
        dataSource={keys.data ?? []}
        pagination={false}
        locale={{ emptyText: t('keys.empty') }}
        columns={[
          { title: t('keys.name'), dataIndex: 'name', render: (v: string) => v || '—' },
          { title: t('keys.type'), dataIndex: 'keyType' },
          { title: t('keys.fingerprint'), dataIndex: 'fingerprint', render: (v: string) => <Typography.Text className="mono" copyable>{v}</Typography.Text> },
          { title: t('keys.lastUsed'), dataIndex: 'lastUsedAt', render: (v: string | null) => (v ? formatTime(v) : t('common.never')) },
          {
            title: t('common.actions'), key: 'actions', width: 90,
            render: (_, k) => (
              <Popconfirm title={t('common.confirmDelete', { name: k.name || k.fingerprint })} okText={t('common.delete')} cancelText={t('common.cancel')} onConfirm={() => removeKey.mutateAsync(k.id)}>
                <Button size="small" danger icon={<DeleteOutlined />} aria-label={`${t('common.delete')} ${k.fingerprint}`} />
              </Popconfirm>
            ),
          },
        ]}
      />
      {adding ? (
        <Form form={form} name="key" layout="vertical" onFinish={(v) => addKey.mutate(v)} style={{ marginTop: 16 }}>
          <Form.Item name="publicKey" label={t('keys.publicKey')} rules={[{ required: true, message: t('common.required', { field: t('keys.publicKey') }) }]}>
            <Input.TextArea rows={3} placeholder={t('keys.publicKeyPlaceholder')} className="mono" />
          </Form.Item>
          <Form.Item name="name" label={t('keys.name')}>
            <Input />
          </Form.Item>
          <Button type="primary" htmlType="submit" loading={addKey.isPending}>{t('keys.add')}</Button>
          <Button style={{ marginLeft: 8 }} onClick={() => setAdding(false)}>{t('common.cancel')}</Button>
        </Form>
      ) : (
        <Button icon={<PlusOutlined />} style={{ marginTop: 16 }} onClick={() => setAdding(true)}>{t('keys.add')}</Button>
      )}
    </div>
  );
}
