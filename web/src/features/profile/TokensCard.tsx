import { useState } from 'react';
import { Alert, App, Button, DatePicker, Flex, Form, Input, Popconfirm, Table, Typography } from 'antd';
import { DeleteOutlined } from '@ant-design/icons';
import type { Dayjs } from 'dayjs';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { meService, type ApiToken } from '../../services/me.ts';
import { applyFieldError, errorText } from '../../components/apiErrors.ts';
import { formatTime } from '../../i18n/format.ts';

const KEY = ['me', 'tokens'] as const;

/** API tokens for scripts: the token text is shown once, right after creation. */
export function TokensCard() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const [form] = Form.useForm<{ name: string; expiresAt?: Dayjs | null }>();
  const [fresh, setFresh] = useState<string | null>(null);
  const tokens = useQuery({ queryKey: KEY, queryFn: () => meService.tokens() });
  const create = useMutation({
    mutationFn: (v: { name: string; expiresAt?: Dayjs | null }) => meService.createToken(v.name.trim(), v.expiresAt ? v.expiresAt.toISOString() : null),
    onSuccess: (tok) => { setFresh(tok.token); form.resetFields(); void qc.invalidateQueries({ queryKey: KEY }); },
    onError: (e) => { if (!applyFieldError(form, e)) void message.error(errorText(e)); },
  });
  const remove = useMutation({
    mutationFn: (id: string) => meService.removeToken(id),
    onSuccess: () => { void qc.invalidateQueries({ queryKey: KEY }); void message.success(t('app.deleted')); },
  });

  return (
    <div>
      {fresh ? (
        <Alert
          type="warning"
          showIcon
          closable={{ onClose: () => setFresh(null) }}
          title={t('profile.tokenCreated')}
          description={<Typography.Text code copyable className="mono" data-testid="new-token">{fresh}</Typography.Text>}
          style={{ marginBottom: 16 }}
        />
      ) : null}
      <Form form={form} name="token" layout="inline" onFinish={(v) => create.mutate(v)} style={{ marginBottom: 16 }}>
        <Form.Item name="name" label={t('profile.tokenName')} rules={[{ required: true, message: t('common.required', { field: t('profile.tokenName') }) }]}>
          <Input />
        </Form.Item>
        <Form.Item name="expiresAt" label={t('profile.tokenExpires')}>
          <DatePicker />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={create.isPending}>{t('profile.tokenCreate')}</Button>
      </Form>
      <Table<ApiToken>
        rowKey="id"
        size="small"
        loading={tokens.isLoading}
        dataSource={tokens.data ?? []}
        pagination={false}
        locale={{ emptyText: t('profile.tokenEmpty') }}
        columns={[
          { title: t('profile.tokenName'), dataIndex: 'name' },
          { title: t('profile.tokenPrefix'), dataIndex: 'prefix', render: (v: string) => <span className="mono">{v}…</span> },
          { title: t('profile.tokenExpires'), dataIndex: 'expiresAt', render: (v: string | null) => (v ? formatTime(v) : t('common.never')) },
          { title: t('profile.lastUsed'), dataIndex: 'lastUsedAt', render: (v: string | null) => (v ? formatTime(v) : t('common.never')) },
          {
            title: t('common.actions'), key: 'a', width: 90,
            render: (_, tok) => (
              <Flex>
                <Popconfirm title={t('common.confirmDelete', { name: tok.name })} okText={t('common.delete')} cancelText={t('common.cancel')} onConfirm={() => remove.mutateAsync(tok.id)}>
                  <Button size="small" danger icon={<DeleteOutlined />} aria-label={`${t('common.delete')} ${tok.name}`} />
                </Popconfirm>
              </Flex>
            ),
          },
        ]}
      />
    </div>
  );
}
