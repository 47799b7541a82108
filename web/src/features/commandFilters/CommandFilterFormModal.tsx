import { Divider, Form, Input, InputNumber, Radio, Select, Switch, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { FILTER_ACTIONS, FILTER_KINDS, type CommandFilter, type CommandFilterInput, type FilterAction, type FilterKind } from '../../services/commandFilters.ts';
import { AssetPicker, GroupPicker, SystemUserPicker, UserPicker } from '../../components/pickers.tsx';
import { NodePicker } from '../../components/NodePicker.tsx';
import { useModalSubmit } from '../../components/useModalSubmit.ts';
import { FormDrawer } from '../../components/FormDrawer.tsx';

interface Values {
  name: string;
  kind: FilterKind;
  pattern: string;
  action: FilterAction;
  priority?: number | null;
  active: boolean;
  users: string[];
  userGroups: string[];
  assets: string[];
  nodes: string[];
  systemUsers: string[];
  comment?: string;
}

const fromFilter = (f: CommandFilter): CommandFilterInput => ({
  name: f.name, kind: f.kind, pattern: f.pattern, action: f.action, priority: f.priority, active: f.active,
  users: f.users, userGroups: f.userGroups, assets: f.assets, nodes: f.nodes, systemUsers: f.systemUsers, comment: f.comment,
});

const toInput = (v: Values): CommandFilterInput => ({
  name: v.name.trim(), kind: v.kind, pattern: v.pattern, action: v.action, ...(v.priority ? { priority: v.priority } : {}), active: v.active,
  users: v.users ?? [], userGroups: v.userGroups ?? [], assets: v.assets ?? [], nodes: v.nodes ?? [], systemUsers: v.systemUsers ?? [], comment: v.comment ?? '',
});

/** What to match (a list of commands or a regex), what to do, in which order, and for whom, where, as whom. */
export function CommandFilterFormModal({ filter, onClose, onSubmit }: {
  filter: CommandFilter | null;
  onClose: () => void;
  onSubmit: (input: CommandFilterInput) => Promise<unknown>;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<Values>();
  const kind = Form.useWatch('kind', form) ?? filter?.kind ?? 'commands';
  const initialValues: Partial<Values> = filter
    ? (fromFilter(filter) as Partial<Values>)
    : { kind: 'commands', action: 'deny', priority: 50, active: true, users: [], userGroups: [], assets: [], nodes: [], systemUsers: [] };

  const submit = useModalSubmit({ form, editing: filter, toInput, current: () => fromFilter(filter!), onSubmit, onClose });

  return (
    <FormDrawer title={filter ? t('filters.editTitle', { name: filter.name }) : t('filters.createTitle')} onClose={onClose} onSave={submit}>
      <Form form={form} name="command-filter" layout="vertical" initialValues={initialValues} className="form-columns">
        <Form.Item name="name" label={t('common.name')} rules={[{ required: true, message: t('common.required', { field: t('common.name') }) }]}>
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="kind" label={t('filters.kind')}>
          <Radio.Group options={FILTER_KINDS.map((k) => ({ value: k, label: t(`filters.kinds.${k}`) }))} />
        </Form.Item>
        <Form.Item
          name="pattern"
          label={t('filters.pattern')}
          className="form-wide"
          extra={<Typography.Text type="secondary">{kind === 'regex' ? t('filters.regexHint') : t('filters.commandsHint')}</Typography.Text>}
          rules={[{ required: true, message: t('common.required', { field: t('filters.pattern') }) }, { max: 1000 }]}
        >
          <Input.TextArea rows={3} className="mono" spellCheck={false} placeholder={kind === 'regex' ? '^rm\\s+-rf\\s+/' : 'rm -rf\nshutdown\nreboot'} />
        </Form.Item>
        <Form.Item name="action" label={t('filters.action')}>
          <Select options={FILTER_ACTIONS.map((a) => ({ value: a, label: t(`filters.actions.${a}`) }))} />
        </Form.Item>
        <Form.Item name="priority" label={t('filters.priority')} extra={t('filters.priorityHint')} rules={[{ type: 'integer', min: 1, max: 100, message: t('filters.priorityRange') }]}>
          <InputNumber min={1} max={100} precision={0} />
        </Form.Item>
        <Form.Item name="active" label={t('common.active')} valuePropName="checked">
          <Switch />
        </Form.Item>
        <Divider className="form-wide" titlePlacement="start" plain>{t('filters.scope')}</Divider>
        <Typography.Paragraph className="form-wide" type="secondary">{t('filters.scopeHint')}</Typography.Paragraph>
        <Form.Item name="users" label={t('permissions.users')}><UserPicker /></Form.Item>
        <Form.Item name="userGroups" label={t('permissions.userGroups')}><GroupPicker /></Form.Item>
        <Form.Item name="assets" label={t('permissions.assets')}><AssetPicker /></Form.Item>
        <Form.Item name="nodes" label={t('permissions.nodes')}><NodePicker /></Form.Item>
        <Form.Item name="systemUsers" label={t('permissions.systemUsers')}><SystemUserPicker /></Form.Item>
        <Form.Item name="comment" label={t('common.comment')} className="form-wide"><Input.TextArea rows={2} /></Form.Item>
      </Form>
    </FormDrawer>
  );
}
