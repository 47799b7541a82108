import { useMemo, useState } from 'react';
import { App, Button, Empty, Flex, Form, Input, Modal, Popconfirm, Spin, Tooltip, Tree, Typography, type TreeProps } from 'antd';
import { ApiOutlined, DeleteOutlined, EditOutlined, PlusOutlined, ReloadOutlined } from '@ant-design/icons';
import { useNavigate } from 'react-router';
import { RouterlessLink } from '../../components/RouterlessLink.tsx';
import { jobsService, type Job } from '../../services/jobs.ts';
import { useTranslation } from 'react-i18next';
import type { AssetNode } from '../../services/nodes.ts';
import { buildNodeTree, subtreeIds, type NodeTreeItem } from '../../components/nodeTree.ts';
import { useNodes } from '../../components/NodePicker.tsx';
import { applyFieldError, errorText } from '../../components/apiErrors.ts';
import { useAssetMutations } from './useAssets.ts';

type Dialog = { kind: 'create'; parent: AssetNode | null } | { kind: 'rename'; node: AssetNode } | null;

interface TreeNodeData {
  key: string;
  title: React.ReactNode;
  children: TreeNodeData[];
}

function toTreeData(items: NodeTreeItem[]): TreeNodeData[] {
  return items.map((i) => ({
    key: i.key,
    title: <span data-node-name={i.node.name}>{i.node.name} <Typography.Text type="secondary">({i.node.assetCount})</Typography.Text></span>,
    children: toTreeData(i.children),
  }));
}

/** The asset tree: select a node to filter assets; create, rename, delete when empty, drag and drop to move. */
export function NodeTree({ selected, onSelect }: { selected: string | null; onSelect: (id: string | null) => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const nodes = useNodes();
  const m = useAssetMutations();
  const [dialog, setDialog] = useState<Dialog>(null);
  const [form] = Form.useForm<{ name: string }>();
  const list = useMemo(() => nodes.data ?? [], [nodes.data]);
  const byId = useMemo(() => new Map(list.map((n) => [n.id, n])), [list]);
  const treeData = useMemo(() => toTreeData(buildNodeTree(list)), [list]);
  const current = selected ? byId.get(selected) ?? null : null;
  // Everything is expanded unless the user folded it, so new nodes show at once.
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const expandedKeys = useMemo(() => list.filter((n) => !collapsed.has(n.id)).map((n) => n.id), [list, collapsed]);

  const onDrop: TreeProps['onDrop'] = async (info) => {
    const dragged = byId.get(String(info.dragNode.key));
    const target = byId.get(String(info.node.key));
    if (!dragged || !target) return;
    const parent = info.dropToGap ? target.parent : target.id;
    if (!parent || parent === dragged.parent || subtreeIds(list, dragged.id).has(parent)) return;
    try {
      await m.updateNode.mutateAsync({ id: dragged.id, patch: { parent } });
      void message.success(t('nodes.moved'));
    } catch (e) {
      void message.error(errorText(e));
    }
  };

  const save = async () => {
    const values = await form.validateFields().catch(() => null);
    if (!values) return;
    const { name } = values;
    try {
      if (dialog?.kind === 'create') {
        const created = await m.createNode.mutateAsync({ name: name.trim(), parent: dialog.parent?.id ?? null });
        onSelect(created.id);
        void message.success(t('app.created'));
      } else if (dialog?.kind === 'rename') {
        await m.updateNode.mutateAsync({ id: dialog.node.id, patch: { name: name.trim() } });
        void message.success(t('app.saved'));
      }
      setDialog(null);
    } catch (e) {
      if (!applyFieldError(form, e)) form.setFields([{ name: 'name', errors: [errorText(e)] }]);
    }
  };

  const remove = async () => {
    if (!current) return;
    try {
      await m.removeNode.mutateAsync(current.id);
      onSelect(current.parent);
      void message.success(t('app.deleted'));
    } catch (e) {
      void message.error(errorText(e));
    }
  };

  const startJob = async (start: (nodeId: string) => Promise<Job>, label: string) => {
    if (!current) return;
    try {
      const job = await start(current.id);
      void message.success(<span>{label}: {current.name} <RouterlessLink to={`/jobs/${job.id}`} navigate={navigate}>{t('jobs.open')}</RouterlessLink></span>, 6);
    } catch (e) {
      void message.error(errorText(e));
    }
  };

  return (
    <div>
      <Flex gap={4} style={{ marginBottom: 8 }} wrap>
        <Button size="small" icon={<PlusOutlined />} onClick={() => setDialog({ kind: 'create', parent: current })}>{current ? t('nodes.createChild') : t('nodes.create')}</Button>
        <Tooltip title={current ? undefined : t('nodes.selectHint')}>
          <Button size="small" icon={<EditOutlined />} disabled={!current} onClick={() => current && setDialog({ kind: 'rename', node: current })}>{t('nodes.rename')}</Button>
        </Tooltip>
        <Popconfirm
          title={t('nodes.deleteConfirm', { name: current?.name ?? '' })}
          okText={t('common.delete')}
          okButtonProps={{ danger: true }}
          cancelText={t('common.cancel')}
          onConfirm={remove}
          disabled={!current || !current.parent}
        >
          <Button size="small" danger icon={<DeleteOutlined />} disabled={!current || !current.parent}>{t('nodes.delete')}</Button>
        </Popconfirm>
        <Tooltip title={current ? t('nodes.testHint') : t('nodes.selectHint')}>
          <Button size="small" icon={<ApiOutlined />} disabled={!current} onClick={() => void startJob(jobsService.testNode, t('nodes.testStarted'))}>{t('nodes.test')}</Button>
        </Tooltip>
        <Tooltip title={current ? t('nodes.factsHint') : t('nodes.selectHint')}>
          <Button size="small" icon={<ReloadOutlined />} disabled={!current} onClick={() => void startJob(jobsService.nodeFacts, t('nodes.factsStarted'))}>{t('nodes.facts')}</Button>
        </Tooltip>
      </Flex>
      {nodes.isLoading ? <Spin /> : treeData.length === 0 ? <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} /> : (
        <>
          <Tree
            aria-label={t('nodes.title')}
            blockNode
            draggable={{ icon: false, nodeDraggable: (n) => !!byId.get(String(n.key))?.parent }}
            expandedKeys={expandedKeys}
            onExpand={(keys) => { const open = new Set(keys.map(String)); setCollapsed(new Set(list.filter((n) => !open.has(n.id)).map((n) => n.id))); }}
            treeData={treeData}
            selectedKeys={selected ? [selected] : []}
            onSelect={(_keys, info) => onSelect(String(info.node.key))}
            onDrop={onDrop}
          />
          <Typography.Paragraph type="secondary" style={{ fontSize: 12, marginTop: 8 }}>{t('nodes.dragHint')}</Typography.Paragraph>
        </>
      )}
      {dialog ? (
        <Modal
          open
          title={dialog.kind === 'create' ? t('nodes.create') : t('nodes.rename')}
          onCancel={() => setDialog(null)}
          onOk={save}
          okText={t('common.save')}
          cancelText={t('common.cancel')}
          destroyOnHidden
        >
          {dialog.kind === 'create' ? <Typography.Paragraph>{t('nodes.parent')}: {dialog.parent?.path ?? t('nodes.root')}</Typography.Paragraph> : null}
          <Form form={form} name="node" layout="vertical" initialValues={{ name: dialog.kind === 'rename' ? dialog.node.name : '' }} onFinish={save}>
            <Form.Item name="name" label={t('nodes.name')} rules={[{ required: true, message: t('common.required', { field: t('nodes.name') }) }]}>
              <Input autoFocus autoComplete="off" />
            </Form.Item>
          </Form>
        </Modal>
      ) : null}
    </div>
  );
}
