import { DatePicker, Form, Input, Select, Switch } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import { ROLES, type Role } from '../../services/common.ts';
import type { User, UserInput } from '../../services/users.ts';
import { GroupPicker } from '../../components/pickers.tsx';
import { useModalSubmit } from '../../components/useModalSubmit.ts';
import { PasswordRules } from '../../components/PasswordRules.tsx';
import { FormDrawer } from '../../components/FormDrawer.tsx';

interface Values {
  username: string;
  name?: string;
  email?: string;
  role: Role;
  groups: string[];
  password?: string;
  mustChangePassword: boolean;
  active: boolean;
  expiresAt?: Dayjs | null;
  comment?: string;
}

function toInput(v: Values): UserInput {
  return {
    username: v.username?.trim(),
    // No name: the server takes the username.
    ...(v.name?.trim() ? { name: v.name.trim() } : {}),
    email: v.email?.trim() ? v.email.trim() : null,
    role: v.role,
    groups: v.groups ?? [],
    mustChangePassword: v.mustChangePassword,
    active: v.active,
    expiresAt: v.expiresAt ? v.expiresAt.toISOString() : null,
    comment: v.comment ?? '',
    ...(v.password ? { password: v.password } : {}),
  };
}

function fromUser(u: User): UserInput {
  return {
    username: u.username, name: u.name, email: u.email, role: u.role, groups: u.groups.map((g) => g.id),
    mustChangePassword: u.mustChangePassword, active: u.active, expiresAt: u.expiresAt, comment: u.comment,
  };
}

/** Create a user, or edit one (only the changed fields are sent). */
export function UserFormModal({ user, open, onClose, onSubmit }: {
  user: User | null;
  open: boolean;
  onClose: () => void;
  onSubmit: (input: UserInput) => Promise<unknown>;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<Values>();

  const initialValues: Partial<Values> = user
    ? {
        username: user.username, name: user.name, email: user.email ?? '', role: user.role, groups: user.groups.map((g) => g.id),
        mustChangePassword: user.mustChangePassword, active: user.active, expiresAt: user.expiresAt ? dayjs(user.expiresAt) : null, comment: user.comment,
      }
    : { role: 'user', groups: [], mustChangePassword: true, active: true };

  const password = Form.useWatch('password', form);
  const username = Form.useWatch('username', form);
  const submit = useModalSubmit({ form, editing: user, toInput, current: () => fromUser(user!), onSubmit, onClose, immutable: ['username'] });

  const required = (field: string) => ({ required: true, message: t('common.required', { field }) });
  // A user always has a name: on an edit it may change, not become empty (unmarked: the server asks for it only then).
  const notBlank = (field: string) => ({ validator: (_: unknown, v?: string) => (v?.trim() ? Promise.resolve() : Promise.reject(new Error(t('common.required', { field })))) });

  return (
    <FormDrawer open={open} title={user ? t('users.editTitle', { name: user.username }) : t('users.createTitle')} onClose={onClose} onSave={submit}>
      <Form form={form} name="user" layout="vertical" preserve={false} initialValues={initialValues} className="form-columns">
        {/* Required marks are the server's: only the username (the name defaults to it, a user may log in by key only). */}
        <Form.Item name="username" label={t('users.username')} rules={[required(t('users.username')), { pattern: /^[a-z0-9._-]+$/, message: t('forms.usernameRule') }]}>
          <Input disabled={!!user} autoComplete="off" />
        </Form.Item>
        <Form.Item name="name" label={t('users.name')} extra={user ? null : t('forms.nameDefaultsToUsername')} rules={user ? [notBlank(t('users.name'))] : []}>
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="email" label={t('users.email')} rules={[{ type: 'email', message: t('errors.issues.invalid_format') }]}>
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="role" label={t('users.role')}>
          <Select options={ROLES.map((r) => ({ value: r, label: t(`users.roles.${r}`) }))} />
        </Form.Item>
        <Form.Item name="groups" label={t('users.groups')}>
          <GroupPicker known={user?.groups} />
        </Form.Item>
        <Form.Item name="expiresAt" label={t('users.expiresAt')}>
          <DatePicker showTime style={{ width: '100%' }} />
        </Form.Item>
        <Form.Item
          name="password"
          label={t('users.password')}
          extra={<>{user ? t('users.passwordHintEdit') : null}<PasswordRules password={password} username={username ?? user?.username} /></>}
        >
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <div>
          <Form.Item name="mustChangePassword" label={t('users.mustChangePassword')} valuePropName="checked">
            <Switch />
          </Form.Item>
          <Form.Item name="active" label={t('common.active')} valuePropName="checked">
            <Switch />
          </Form.Item>
        </div>
        <Form.Item name="comment" label={t('common.comment')} className="form-wide">
          <Input.TextArea rows={2} />
        </Form.Item>
      </Form>
    </FormDrawer>
  );
}
