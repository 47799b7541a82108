import { Form, Input, InputNumber, Select, Switch } from 'antd';
import { useTranslation } from 'react-i18next';
import { PLATFORMS, type Asset, type AssetInput, type Platform } from '../../services/assets.ts';
import { AdminUserPicker } from '../../components/pickers.tsx';
import { NodePicker } from '../../components/NodePicker.tsx';
import { useModalSubmit } from '../../components/useModalSubmit.ts';
import { FormDrawer } from '../../components/FormDrawer.tsx';
import { enumText } from '../../components/apiErrors.ts';

interface Values {
  name: string;
  address: string;
  port?: number | null;
  platform: Platform;
  nodes: string[];
  adminUser: string | null;
  labels: string[];
  active: boolean;
  comment?: string;
}

const toInput = (v: Values): AssetInput => ({
  name: v.name.trim(), address: v.address.trim(), ...(v.port ? { port: v.port } : {}), platform: v.platform, nodes: v.nodes ?? [],
  adminUser: v.adminUser ?? null, labels: v.labels ?? [], active: v.active, comment: v.comment ?? '',
});

const fromAsset = (a: Asset): AssetInput => ({
  name: a.name, address: a.address, port: a.port, platform: a.platform as Platform, nodes: a.nodes.map((n) => n.id),
  adminUser: a.adminUser, labels: a.labels, active: a.active, comment: a.comment,
});

/** Create or edit an asset; on create it starts in the node selected in the tree. */
export function AssetFormModal({ asset, defaultNode, onClose, onSubmit }: {
  asset: Asset | null;
  defaultNode: string | null;
  onClose: () => void;
  onSubmit: (input: AssetInput) => Promise<unknown>;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<Values>();
  const initialValues: Partial<Values> = asset
    ? { ...fromAsset(asset), comment: asset.comment } as Values
    : { port: 22, platform: 'linux', nodes: defaultNode ? [defaultNode] : [], adminUser: null, labels: [], active: true };

  const submit = useModalSubmit({ form, editing: asset, toInput, current: () => fromAsset(asset!), onSubmit, onClose });

  const required = (field: string) => ({ required: true, message: t('common.required', { field }) });

  return (
    <FormDrawer title={asset ? t('assets.editTitle', { name: asset.name }) : t('assets.createTitle')} onClose={onClose} onSave={submit}>
      <Form form={form} name="asset" layout="vertical" initialValues={initialValues} className="form-columns">
        <Form.Item name="name" label={t('assets.name')} rules={[required(t('assets.name'))]}>
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="address" label={t('assets.address')} rules={[required(t('assets.address'))]}>
          <Input autoComplete="off" placeholder="10.0.0.12 / web01.example.com" />
        </Form.Item>
        <Form.Item name="port" label={t('assets.port')} extra={asset ? null : t('forms.portDefault')}>
          <InputNumber min={1} max={65535} precision={0} style={{ width: 140 }} />
        </Form.Item>
        <Form.Item name="platform" label={t('assets.platform')}>
          <Select options={PLATFORMS.map((p) => ({ value: p, label: enumText('platform', p) }))} />
        </Form.Item>
        <Form.Item name="nodes" label={t('assets.nodes')}>
          <NodePicker />
        </Form.Item>
        <Form.Item name="adminUser" label={t('assets.adminUser')}>
          <AdminUserPicker />
        </Form.Item>
        <Form.Item name="labels" label={t('assets.labels')} className="form-wide">
          <Select mode="tags" open={false} placeholder={t('assets.labelsPlaceholder')} tokenSeparators={[',']} />
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
