import { Col, DatePicker, Form, Input, Modal, Row, Select, Switch } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import { ROLES, type Role } from '../../services/common.ts';
import type { User, UserInput } from '../../services/users.ts';
import { GroupPicker } from '../../components/pickers.tsx';
import { useModalSubmit } from '../../components/useModalSubmit.ts';
import { PasswordRules } from '../../components/PasswordRules.tsx';

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
    name: v.name?.trim() ?? '',
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

  return (
    <Modal
      open={open}
      title={user ? t('users.editTitle', { name: user.username }) : t('users.createTitle')}
      onCancel={onClose}
      onOk={submit}
      okText={t('common.save')}
      cancelText={t('common.cancel')}
      destroyOnHidden
      width={760}
    >
      <Form form={form} name="user" layout="vertical" preserve={false} initialValues={initialValues}>
        {/* Two columns from 768 px: the whole form fits a 900 px window with Save and Cancel in view. */}
        <Row gutter={16}>
          <Col xs={24} md={12}>
            <Form.Item name="username" label={t('users.username')} rules={[required(t('users.username')), { pattern: /^[a-z0-9._-]+$/, message: t('forms.usernameRule') }]}>
              <Input disabled={!!user} autoComplete="off" />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            {/* The server refuses an empty name (it takes the username when none is sent). */}
            <Form.Item name="name" label={t('users.name')} rules={[required(t('users.name'))]}>
              <Input autoComplete="off" />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item name="email" label={t('users.email')} rules={[{ type: 'email', message: t('errors.issues.invalid_format') }]}>
              <Input autoComplete="off" />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item name="role" label={t('users.role')} rules={[required(t('users.role'))]}>
              <Select options={ROLES.map((r) => ({ value: r, label: t(`users.roles.${r}`) }))} />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item name="groups" label={t('users.groups')}>
              <GroupPicker known={user?.groups} />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item name="expiresAt" label={t('users.expiresAt')}>
              <DatePicker showTime style={{ width: '100%' }} />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item
              name="password"
              label={t('users.password')}
              extra={<>{user ? t('users.passwordHintEdit') : null}<PasswordRules password={password} username={username ?? user?.username} /></>}
              rules={user ? [] : [required(t('users.password'))]}
            >
              <Input.Password autoComplete="new-password" />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item name="mustChangePassword" label={t('users.mustChangePassword')} valuePropName="checked">
              <Switch />
            </Form.Item>
            <Form.Item name="active" label={t('common.active')} valuePropName="checked">
              <Switch />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item name="comment" label={t('common.comment')}>
          <Input.TextArea rows={2} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
