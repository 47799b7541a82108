import { Form, Input, InputNumber, Radio } from 'antd';
import { useTranslation } from 'react-i18next';
import type { AccountInput, AccountKind, AdminUser, SystemUser } from '../../services/accounts.ts';
import { useModalSubmit } from '../../components/useModalSubmit.ts';
import { FormDrawer } from '../../components/FormDrawer.tsx';
import { SecretInput } from './SecretInput.tsx';

type Account = SystemUser | AdminUser;
const isSystemUser = (a: Account | null): a is SystemUser => !!a && 'loginMode' in a;

interface Values extends AccountInput {
  name: string;
  username: string;
}

/** Create or edit a system user or an admin user; secrets are sent only when replaced or cleared. */
export function AccountFormModal({ kind, account, onClose, onSubmit }: {
  kind: AccountKind;
  account: Account | null;
  onClose: () => void;
  onSubmit: (input: AccountInput) => Promise<unknown>;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<Values>();
  const system = kind === 'system-users';

  const initial: AccountInput = account
    ? {
        name: account.name, username: account.username, comment: account.comment,
        ...(isSystemUser(account) ? { loginMode: account.loginMode, priority: account.priority, sudo: account.sudo, shell: account.shell } : {}),
      }
    : { comment: '', ...(system ? { loginMode: 'auto' as const, priority: 50, sudo: '', shell: '/bin/bash' } : {}) };

  const submit = useModalSubmit<Values, AccountInput>({
    form, editing: account, onSubmit, onClose, current: () => initial,
    toInput: (v) => ({
      name: v.name.trim(), username: v.username.trim(), comment: v.comment ?? '',
      ...(system ? { loginMode: v.loginMode, ...(v.priority ? { priority: v.priority } : {}), sudo: v.sudo ?? '', shell: v.shell || undefined } : {}),
    }),
    // Secrets: a non-empty string replaces, null clears, anything else keeps.
    amend: (body, v) => {
      for (const key of ['password', 'privateKey'] as const) {
        const s = v[key];
        if (typeof s === 'string' && s !== '') body[key] = s;
        else if (s === null && account) body[key] = null;
      }
    },
  });

  const required = (field: string) => ({ required: true, message: t('common.required', { field }) });
  const title = account ? t('accounts.editTitle', { name: account.name }) : system ? t('accounts.createSystemUser') : t('accounts.createAdminUser');

  return (
    <FormDrawer title={title} onClose={onClose} onSave={submit}>
      <Form form={form} name="account" layout="vertical" initialValues={initial} className="form-columns">
        <Form.Item name="name" label={t('accounts.name')} rules={[required(t('accounts.name'))]}>
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="username" label={t('accounts.username')} rules={[required(t('accounts.username'))]}>
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="password" label={t('accounts.password')}>
          <SecretInput isSet={account?.hasPassword ?? false} />
        </Form.Item>
        <Form.Item name="privateKey" label={t('accounts.privateKey')} className="form-wide">
          <SecretInput isSet={account?.hasPrivateKey ?? false} multiline fileUpload />
        </Form.Item>
        {system ? (
          <>
            <Form.Item name="loginMode" label={t('accounts.loginMode')}>
              <Radio.Group options={[{ value: 'auto', label: t('accounts.loginModes.auto') }, { value: 'manual', label: t('accounts.loginModes.manual') }]} />
            </Form.Item>
            <Form.Item name="priority" label={t('accounts.priority')} extra={t('forms.priorityHint')}>
              <InputNumber min={1} max={100} />
            </Form.Item>
            <Form.Item name="shell" label={t('accounts.shell')}>
              <Input />
            </Form.Item>
            <Form.Item name="sudo" label={t('accounts.sudo')} className="form-wide">
              <Input.TextArea rows={2} placeholder="/usr/bin/systemctl restart nginx" />
            </Form.Item>
          </>
        ) : null}
        <Form.Item name="comment" label={t('common.comment')} className="form-wide">
          <Input.TextArea rows={2} />
        </Form.Item>
      </Form>
    </FormDrawer>
  );
}
