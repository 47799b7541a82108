import { useMemo } from 'react';
import { Button, Card, Form, Input, InputNumber, Select, Typography } from 'antd';
import { PlayCircleOutlined } from '@ant-design/icons';
import { useNavigate } from 'react-router';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { jobsService } from '../../services/jobs.ts';
import { meService } from '../../services/me.ts';
import { commonSystemUsers } from './grantedTargets.ts';
import { AssetPicker, OneSystemUserPicker } from '../../components/pickers.tsx';
import { NodePicker } from '../../components/NodePicker.tsx';
import { applyFieldError, errorText } from '../../components/apiErrors.ts';
import { LabelFilter } from '../../components/LabelFilter.tsx';

/** The label filter as a form field: the job also runs on every asset carrying these labels. */
function LabelField({ value, onChange }: { value?: string[]; onChange?: (v: string[]) => void }) {
  return <LabelFilter value={value ?? []} onChange={(v) => onChange?.(v)} />;
}

interface Values {
  assets: string[];
  nodes: string[];
  labels: string[];
  systemUser: string | null;
  command: string;
  timeoutSeconds?: number | null;
}

/**
 * Runs a shell command on assets and/or every asset under nodes, as a system user; opens the job
 * it starts. `granted`: for users who are not admins, the assets and system users they were
 * granted (GET /me/assets) instead of every asset, node and system user.
 */
export function CommandRunnerCard({ granted = false }: { granted?: boolean }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [form] = Form.useForm<Values>();
  const mine = useQuery({ queryKey: ['me', 'assets', ''], queryFn: () => meService.assets(), enabled: granted });
  const chosen = Form.useWatch('assets', form) ?? [];
  const myAssets = useMemo(() => mine.data?.items ?? [], [mine.data]);
  const assetOptions = useMemo(() => myAssets.map((a) => ({ value: a.id, label: `${a.name} (${a.address})` })), [myAssets]);
  const suOptions = commonSystemUsers(myAssets, chosen);

  const run = async () => {
    // Invalid fields show their errors; nothing else to do.
    const v = await form.validateFields().catch(() => null);
    if (!v) return;
    try {
      const job = await jobsService.runCommand({
        assets: v.assets?.length ? v.assets : undefined, nodes: v.nodes?.length ? v.nodes : undefined, labels: v.labels?.length ? v.labels : undefined,
        // Left empty, the server's default timeout.
        systemUser: v.systemUser!, command: v.command, timeoutSeconds: v.timeoutSeconds ?? undefined,
      });
      await qc.invalidateQueries({ queryKey: ['jobs'] });
      navigate(`/jobs/${job.id}`);
    } catch (e) {
      if (!applyFieldError(form, e)) form.setFields([{ name: 'command', errors: [errorText(e)] }]);
    }
  };

  const targetRule = ({ getFieldValue }: { getFieldValue: (n: string) => unknown }) => ({
    validator: () => ((getFieldValue('assets') as string[] | undefined)?.length || (getFieldValue('nodes') as string[] | undefined)?.length || (getFieldValue('labels') as string[] | undefined)?.length
      ? Promise.resolve() : Promise.reject(new Error(t(granted ? 'jobs.chooseAssets' : 'jobs.chooseTargets')))),
  });

  return (
    <Card size="small" title={t('jobs.runner')}>
      <Form form={form} name="command-runner" layout="vertical" initialValues={{ assets: [], nodes: [], labels: [], systemUser: null, command: '', timeoutSeconds: 60 }} onFinish={run}>
        {granted ? (
          <>
            <Typography.Paragraph type="secondary">{t('jobs.grantedHint')}</Typography.Paragraph>
            <Form.Item name="assets" label={t('permissions.assets')} rules={[targetRule]}>
              <Select mode="multiple" showSearch={{ optionFilterProp: 'label' }} loading={mine.isLoading} options={assetOptions}
                onChange={(ids: string[]) => {
                  // A system user no longer granted on every chosen asset is dropped.
                  if (!commonSystemUsers(myAssets, ids).some((o) => o.value === form.getFieldValue('systemUser'))) form.setFieldValue('systemUser', null);
                }} notFoundContent={t('myAssets.empty')} />
            </Form.Item>
            <Form.Item name="systemUser" label={t('sessions.systemUser')} rules={[{ required: true, message: t('common.required', { field: t('sessions.systemUser') }) }]}>
              <Select options={suOptions} notFoundContent={chosen.length ? t('jobs.noCommonSystemUser') : t('jobs.chooseAssets')} />
            </Form.Item>
          </>
        ) : (
          <>
            <Form.Item name="assets" label={t('permissions.assets')} dependencies={['nodes']} rules={[targetRule]}><AssetPicker /></Form.Item>
            <Form.Item name="nodes" label={t('permissions.nodes')} dependencies={['assets']} rules={[targetRule]}><NodePicker /></Form.Item>
            <Form.Item name="labels" label={t('labels.filter')} dependencies={['assets', 'nodes']}><LabelField /></Form.Item>
            <Form.Item name="systemUser" label={t('sessions.systemUser')} rules={[{ required: true, message: t('common.required', { field: t('sessions.systemUser') }) }]}><OneSystemUserPicker /></Form.Item>
          </>
        )}
        <Form.Item name="command" label={t('sessions.command')} rules={[{ required: true, message: t('common.required', { field: t('sessions.command') }) }]}>
          <Input.TextArea rows={3} className="mono" spellCheck={false} placeholder="uptime" />
        </Form.Item>
        <Form.Item name="timeoutSeconds" label={t('jobs.timeout')} rules={[{ type: 'integer', min: 1, max: 3600, message: t('jobs.timeoutRange') }]}>
          <InputNumber min={1} max={3600} precision={0} suffix="s" />
        </Form.Item>
        <Button type="primary" htmlType="submit" icon={<PlayCircleOutlined />}>{t('jobs.run')}</Button>
      </Form>
    </Card>
  );
}
