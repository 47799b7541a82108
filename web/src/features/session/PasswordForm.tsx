import { Button, Form, Input, App } from 'antd';
import { useTranslation } from 'react-i18next';
import { applyFieldError, errorText } from '../../components/apiErrors.ts';
import { PasswordRules } from '../../components/PasswordRules.tsx';

interface Values {
  oldPassword: string;
  newPassword: string;
  confirm: string;
}

/** Current password, new password twice; API errors land next to the field they name. */
export function PasswordForm({ onSubmit, username }: { onSubmit: (oldPassword: string, newPassword: string) => Promise<void>; username?: string }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [form] = Form.useForm<Values>();
  const newPassword = Form.useWatch('newPassword', form);

  const finish = async (v: Values) => {
    try {
      await onSubmit(v.oldPassword, v.newPassword);
      form.resetFields();
      void message.success(t('password.changed'));
    } catch (e) {
      // The API names `password` for rule violations of the new one.
      if (!applyFieldError(form, e, { password: 'newPassword' })) form.setFields([{ name: 'oldPassword', errors: [errorText(e)] }]);
    }
  };

  return (
    <Form form={form} name="password" layout="vertical" onFinish={finish} requiredMark={false}>
      <Form.Item name="oldPassword" label={t('password.oldPassword')} rules={[{ required: true, message: t('common.required', { field: t('password.oldPassword') }) }]}>
        <Input.Password autoComplete="current-password" />
      </Form.Item>
      <Form.Item name="newPassword" label={t('password.newPassword')} extra={<PasswordRules password={newPassword} username={username} />} rules={[{ required: true, min: 8, message: t('password.tooShort') }]}>
        <Input.Password autoComplete="new-password" />
      </Form.Item>
      <Form.Item
        name="confirm"
        label={t('password.confirmPassword')}
        dependencies={['newPassword']}
        rules={[
          { required: true, message: t('common.required', { field: t('password.confirmPassword') }) },
          ({ getFieldValue }) => ({ validator: (_, value) => (!value || getFieldValue('newPassword') === value ? Promise.resolve() : Promise.reject(new Error(t('password.mismatch')))) }),
        ]}
      >
        <Input.Password autoComplete="new-password" />
      </Form.Item>
      <Button type="primary" htmlType="submit" block>{t('password.submit')}</Button>
    </Form>
  );
}
