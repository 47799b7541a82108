import { useState } from 'react';
import { useNavigate } from 'react-router';
import { App, Button, Card, Form, Input, InputNumber, List, Popconfirm, Space, Tag, Tooltip, Typography } from 'antd';
import { DeleteOutlined, PlayCircleOutlined, PlusOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { jobsService, type SavedCommand, type SavedCommandInput } from '../../services/jobs.ts';
import { AssetPicker, OneSystemUserPicker } from '../../components/pickers.tsx';
import { NodePicker } from '../../components/NodePicker.tsx';
import { useModalSubmit } from '../../components/useModalSubmit.ts';
import { FormDrawer } from '../../components/FormDrawer.tsx';
import { errorText } from '../../components/apiErrors.ts';

interface Values {
  name: string;
  command: string;
  systemUser: string | null;
  assets: string[];
  nodes: string[];
  timeoutSeconds?: number | null;
}

function SaveCommandModal({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [form] = Form.useForm<Values>();
  const submit = useModalSubmit<Values, SavedCommandInput>({
    form, editing: null, onClose,
    toInput: (v) => ({ name: v.name, command: v.command, systemUser: v.systemUser ?? '', assets: v.assets ?? [], nodes: v.nodes ?? [], ...(v.timeoutSeconds ? { timeoutSeconds: v.timeoutSeconds } : {}) }),
    current: () => ({ name: '', command: '', systemUser: '' }),
    onSubmit: async (body) => {
      await jobsService.saveCommand(body as SavedCommandInput);
      await qc.invalidateQueries({ queryKey: ['saved-commands'] });
    },
  });
  const required = (field: string) => [{ required: true, message: t('common.required', { field }) }];
  return (
    <FormDrawer open={open} title={t('savedCommands.create')} onSave={submit} onClose={onClose}>
      <Form form={form} name="saved-command" layout="vertical" preserve={false} initialValues={{ assets: [], nodes: [], systemUser: null, timeoutSeconds: 60 }} className="form-columns">
        <Form.Item name="name" label={t('savedCommands.name')} rules={required(t('savedCommands.name'))}><Input /></Form.Item>
        <Form.Item name="command" label={t('sessions.command')} className="form-wide" rules={required(t('sessions.command'))}><Input.TextArea rows={2} className="mono" spellCheck={false} /></Form.Item>
        <Form.Item name="systemUser" label={t('sessions.systemUser')} rules={required(t('sessions.systemUser'))}><OneSystemUserPicker /></Form.Item>
        <Form.Item name="assets" label={t('permissions.assets')}><AssetPicker /></Form.Item>
        <Form.Item name="nodes" label={t('permissions.nodes')}><NodePicker /></Form.Item>
        <Form.Item name="timeoutSeconds" label={t('jobs.timeout')}><InputNumber min={1} max={3600} precision={0} suffix="s" /></Form.Item>
      </Form>
    </FormDrawer>
  );
}

/** Saved commands: everyone runs them on their default targets (where granted); admins keep them. */
export function SavedCommandsCard({ manage }: { manage: boolean }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [creating, setCreating] = useState(false);
  const list = useQuery({ queryKey: ['saved-commands'], queryFn: () => jobsService.savedCommands() });
  const run = async (c: SavedCommand) => {
    try {
      const job = await jobsService.runSaved(c.id);
      await qc.invalidateQueries({ queryKey: ['jobs'] });
      navigate(`/jobs/${job.id}`);
    } catch (e) { void message.error(errorText(e)); }
  };
  const remove = async (c: SavedCommand) => {
    try {
      await jobsService.deleteSavedCommand(c.id);
      void message.success(t('app.deleted'));
      await qc.invalidateQueries({ queryKey: ['saved-commands'] });
    } catch (e) { void message.error(errorText(e)); }
  };
  return (
    <Card size="small" title={t('savedCommands.title')} data-testid="saved-commands" extra={manage ? <Button size="small" icon={<PlusOutlined />} onClick={() => setCreating(true)}>{t('savedCommands.create')}</Button> : null}>
      <List<SavedCommand>
        size="small"
        loading={list.isLoading}
        dataSource={list.data?.items ?? []}
        locale={{ emptyText: t('savedCommands.empty') }}
        renderItem={(c) => (
          <List.Item
            actions={[
              <Tooltip key="run" title={t('savedCommands.runHint')}>
                <Button size="small" type="primary" icon={<PlayCircleOutlined />} aria-label={`${t('savedCommands.run')} ${c.name}`} onClick={() => void run(c)}>{t('savedCommands.run')}</Button>
              </Tooltip>,
              ...(manage ? [(
                <Popconfirm key="del" title={t('savedCommands.deleteConfirm', { name: c.name })} okText={t('common.delete')} okButtonProps={{ danger: true }} cancelText={t('common.cancel')} onConfirm={() => remove(c)}>
                  <Button size="small" danger icon={<DeleteOutlined />} aria-label={`${t('common.delete')} ${c.name}`} />
                </Popconfirm>
              )] : []),
            ]}
          >
            <List.Item.Meta
              title={c.name}
              description={(
                <Space orientation="vertical" size={2}>
                  <Typography.Text code className="mono">{c.command}</Typography.Text>
                  <Space size={4}>
                    {c.assets.length ? <Tag>{t('savedCommands.assetsCount', { count: c.assets.length })}</Tag> : null}
                    {c.nodes.length ? <Tag>{t('savedCommands.nodesCount', { count: c.nodes.length })}</Tag> : null}
                  </Space>
                </Space>
              )}
            />
          </List.Item>
        )}
      />
      {manage ? <SaveCommandModal open={creating} onClose={() => setCreating(false)} /> : null}
    </Card>
  );
}
