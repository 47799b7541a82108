import { Checkbox, DatePicker, Divider, Form, Input, Switch } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import { ACTIONS, type Action } from '../../services/common.ts';
import type { Permission, PermissionInput } from '../../services/permissions.ts';
import { AssetPicker, GroupPicker, SystemUserPicker, UserPicker } from '../../components/pickers.tsx';
import { NodePicker } from '../../components/NodePicker.tsx';
import { useModalSubmit } from '../../components/useModalSubmit.ts';
import { FormDrawer } from '../../components/FormDrawer.tsx';

interface Values {
  name: string;
  users: string[];
  userGroups: string[];
  assets: string[];
  nodes: string[];
  systemUsers: string[];
  actions: Action[];
  validFrom?: Dayjs | null;
  validTo?: Dayjs | null;
  active: boolean;
  comment?: string;
}

const ids = (refs: { id: string }[]) => refs.map((r) => r.id);

const fromPermission = (p: Permission): PermissionInput => ({
  name: p.name, users: ids(p.users), userGroups: ids(p.userGroups), assets: ids(p.assets), nodes: ids(p.nodes), systemUsers: ids(p.systemUsers),
  actions: p.actions, validFrom: p.validFrom, validTo: p.validTo, active: p.active, comment: p.comment,
});

const toInput = (v: Values): PermissionInput => ({
  name: v.name.trim(), users: v.users ?? [], userGroups: v.userGroups ?? [], assets: v.assets ?? [], nodes: v.nodes ?? [], systemUsers: v.systemUsers ?? [],
  actions: v.actions, validFrom: v.validFrom ? v.validFrom.toISOString() : null, validTo: v.validTo ? v.validTo.toISOString() : null,
  active: v.active, comment: v.comment ?? '',
});

/** Who (users, groups) × what (assets, nodes with descendants) × as which system users × which actions, when. */
export function PermissionFormModal({ permission, onClose, onSubmit }: {
  permission: Permission | null;
  onClose: () => void;
  onSubmit: (input: PermissionInput) => Promise<unknown>;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<Values>();
  const initialValues: Partial<Values> = permission
    ? {
        ...fromPermission(permission),
        validFrom: permission.validFrom ? dayjs(permission.validFrom) : null,
        validTo: permission.validTo ? dayjs(permission.validTo) : null,
      } as Partial<Values>
    : { users: [], userGroups: [], assets: [], nodes: [], systemUsers: [], actions: ['connect'], active: true };

  const submit = useModalSubmit({ form, editing: permission, toInput, current: () => fromPermission(permission!), onSubmit, onClose });

  return (
    <FormDrawer title={permission ? t('permissions.editTitle', { name: permission.name }) : t('permissions.createTitle')} onClose={onClose} onSave={submit}>
      <Form form={form} name="permission" layout="vertical" initialValues={initialValues} className="form-columns">
        <Form.Item name="name" label={t('common.name')} className="form-wide" rules={[{ required: true, message: t('common.required', { field: t('common.name') }) }]}>
          <Input autoComplete="off" />
        </Form.Item>
        <Divider className="form-wide" titlePlacement="start" plain>{t('permissions.who')}</Divider>
        <Form.Item name="users" label={t('permissions.users')}>
          <UserPicker known={permission?.users} />
        </Form.Item>
        <Form.Item name="userGroups" label={t('permissions.userGroups')}>
          <GroupPicker known={permission?.userGroups} />
        </Form.Item>
        <Divider className="form-wide" titlePlacement="start" plain>{t('permissions.what')}</Divider>
        <Form.Item name="assets" label={t('permissions.assets')}>
          <AssetPicker known={permission?.assets} />
        </Form.Item>
        <Form.Item name="nodes" label={t('permissions.nodes')}>
          <NodePicker />
        </Form.Item>
        <Form.Item name="systemUsers" label={t('permissions.systemUsers')}>
          <SystemUserPicker known={permission?.systemUsers} />
        </Form.Item>
        <Form.Item
          name="actions"
          label={t('permissions.actions')}
          className="form-wide"
          // Not marked required (the server defaults it), but when sent it holds at least one action.
          rules={[{ validator: (_, v?: Action[]) => (v?.length ? Promise.resolve() : Promise.reject(new Error(t('permissions.atLeastOneAction')))) }]}
        >
          <Checkbox.Group options={ACTIONS.map((a) => ({ value: a, label: t(`permissions.actionNames.${a}`) }))} />
        </Form.Item>
        <Divider className="form-wide" titlePlacement="start" plain>{t('permissions.validity')}</Divider>
        <Form.Item name="validFrom" label={t('permissions.validFrom')}>
          <DatePicker showTime style={{ width: '100%' }} />
        </Form.Item>
        <Form.Item
          name="validTo"
          label={t('permissions.validTo')}
          dependencies={['validFrom']}
          rules={[({ getFieldValue }) => ({
            validator: (_, v: Dayjs | null) => {
              const from = getFieldValue('validFrom') as Dayjs | null;
              return !v || !from || v.isAfter(from) ? Promise.resolve() : Promise.reject(new Error(`${t('permissions.validTo')} > ${t('permissions.validFrom')}`));
            },
          })]}
        >
          <DatePicker showTime style={{ width: '100%' }} />
        </Form.Item>
        <Form.Item name="active" label={t('common.active')} valuePropName="checked">
          <Switch />
        </Form.Item>
        <Form.Item name="comment" label={t('common.comment')} className="form-wide">
          <Input.TextArea rows={2} />
        </Form.Item>
      </Form>
    </FormDrawer>
  );
}
