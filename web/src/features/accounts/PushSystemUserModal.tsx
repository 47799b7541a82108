import { Form, Modal, Typography } from 'antd';
import { useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { jobsService } from '../../services/jobs.ts';
import type { SystemUser } from '../../services/accounts.ts';
import { AssetPicker } from '../../components/pickers.tsx';
import { NodePicker } from '../../components/NodePicker.tsx';
import { applyFieldError, errorText } from '../../components/apiErrors.ts';

interface Values { assets: string[]; nodes: string[] }

/** Creates or updates a system user's account on assets through their admin user, as a job; opens the job. */
export function PushSystemUserModal({ systemUser, onClose }: { systemUser: SystemUser; onClose: () => void }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [form] = Form.useForm<Values>();
  const targetRule = ({ getFieldValue }: { getFieldValue: (n: string) => unknown }) => ({
    validator: () => ((getFieldValue('assets') as string[] | undefined)?.length || (getFieldValue('nodes') as string[] | undefined)?.length
      ? Promise.resolve() : Promise.reject(new Error(t('jobs.chooseTargets')))),
  });

  const push = async () => {
    // Invalid fields show their errors; nothing else to do.
    const v = await form.validateFields().catch(() => null);
    if (!v) return;
    try {
      const job = await jobsService.pushSystemUser(systemUser.id, { assets: v.assets?.length ? v.assets : undefined, nodes: v.nodes?.length ? v.nodes : undefined });
      onClose();
      navigate(`/jobs/${job.id}`);
    } catch (e) {
      if (!applyFieldError(form, e)) form.setFields([{ name: 'assets', errors: [errorText(e)] }]);
    }
  };

  return (
    <Modal open title={t('accounts.pushTitle', { name: systemUser.name })} onCancel={onClose} onOk={push} okText={t('accounts.push')} cancelText={t('common.cancel')} destroyOnHidden>
      <Typography.Paragraph type="secondary">{t('accounts.pushHint', { username: systemUser.username })}</Typography.Paragraph>
      <Form form={form} name="push-system-user" layout="vertical" initialValues={{ assets: [], nodes: [] }}>
        <Form.Item name="assets" label={t('permissions.assets')} dependencies={['nodes']} rules={[targetRule]}><AssetPicker /></Form.Item>
        <Form.Item name="nodes" label={t('permissions.nodes')} dependencies={['assets']} rules={[targetRule]}><NodePicker /></Form.Item>
      </Form>
    </Modal>
  );
}
