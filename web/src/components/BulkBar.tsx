import { useState } from 'react';
import { useNavigate } from 'react-router';
import { Alert, App, Button, Form, List, Modal, Popconfirm, Space, TreeSelect, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { bulkService, type BulkAction, type BulkResource, type BulkResult } from '../services/bulk.ts';
import { errorText } from './apiErrors.ts';
import { OnePermissionPicker } from './pickers.tsx';
import { useNodes } from './NodePicker.tsx';
import { buildNodeTree } from './nodeTree.ts';

interface Props {
  resource: BulkResource;
  actions: readonly BulkAction[];
  /** The selected rows' ids, and their names for the result list. */
  selected: { id: string; name: string }[];
  /** Called after a request (refresh the list; the selection is cleared). */
  onDone: () => void;
}

/**
 * The bar over a table with rows selected: delete, enable, disable, move, test, facts, add to a
 * permission. Every item's outcome comes back; failures are listed by name with their reason.
 */
export function BulkBar({ resource, actions, selected, onDone }: Props) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const [asking, setAsking] = useState<'move' | 'addToPermission' | null>(null);
  const [target, setTarget] = useState<string | null>(null);
  // The outcome keeps the names of what was asked: the selection is cleared once it is done.
  const [outcome, setOutcome] = useState<(BulkResult & { names: Map<string, string> }) | null>(null);
  const [busy, setBusy] = useState(false);
  const nodes = useNodes();

  const run = async (action: BulkAction, extra: { node?: string; permission?: string } = {}) => {
    setBusy(true);
    const names = new Map(selected.map((x) => [x.id, x.name]));
    try {
      const r = await bulkService.run(resource, { action, ids: selected.map((s) => s.id), ...extra });
      onDone();
      if (r.job) { navigate(`/jobs/${r.job.id}`); return; }
      if (r.failed === 0) void message.success(t('bulk.done', { count: r.ok }));
      else setOutcome({ ...r, names });
    } catch (e) {
      void message.error(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const button = (action: BulkAction) => {
    const label = t(`bulk.actions.${action}`);
    switch (action) {
      case 'delete':
        return (
          <Popconfirm key={action} title={t('bulk.deleteConfirm', { count: selected.length })} description={t('common.confirmDeleteHint')} okText={t('common.delete')} okButtonProps={{ danger: true }} cancelText={t('common.cancel')} onConfirm={() => run('delete')}>
            <Button size="small" danger loading={busy}>{label}</Button>
          </Popconfirm>
        );
      case 'move':
      case 'addToPermission':
        return <Button key={action} size="small" onClick={() => { setTarget(null); setAsking(action); }}>{label}</Button>;
      default:
        return <Button key={action} size="small" loading={busy} onClick={() => void run(action)}>{label}</Button>;
    }
  };

  return (
    <>
      {selected.length === 0 ? null : <Alert
        type="info"
        style={{ marginBottom: 12 }}
        data-testid="bulk-bar"
        title={(
          <Space wrap>
            <Typography.Text strong>{t('bulk.selected', { count: selected.length })}</Typography.Text>
            {actions.map(button)}
          </Space>
        )}
      />}
      <Modal
        open={asking !== null}
        title={asking ? t(`bulk.actions.${asking}`) : ''}
        okText={t('bulk.apply')}
        cancelText={t('common.cancel')}
        okButtonProps={{ disabled: !target, loading: busy }}
        onCancel={() => setAsking(null)}
        onOk={async () => {
          const a = asking;
          setAsking(null);
          if (a === 'move') await run('move', { node: target! });
          if (a === 'addToPermission') await run('addToPermission', { permission: target! });
        }}
        destroyOnHidden
      >
        <Form layout="vertical">
          {asking === 'move' ? (
            <Form.Item label={t('bulk.toNode')}>
              <TreeSelect aria-label={t('bulk.toNode')} treeDefaultExpandAll showSearch={{ treeNodeFilterProp: 'title' }} treeData={buildNodeTree(nodes.data ?? [])} value={target ?? undefined} onChange={(v: string) => setTarget(v)} style={{ width: '100%' }} />
            </Form.Item>
          ) : (
            <Form.Item label={t('bulk.toPermission')}><OnePermissionPicker aria-label={t('bulk.toPermission')} value={target} onChange={setTarget} /></Form.Item>
          )}
        </Form>
      </Modal>
      <Modal open={outcome !== null} title={t('bulk.partial', { ok: outcome?.ok ?? 0, failed: outcome?.failed ?? 0 })} onCancel={() => setOutcome(null)} footer={<Button onClick={() => setOutcome(null)}>{t('common.close')}</Button>}>
        <div data-testid="bulk-failures">
          <List
            size="small"
            dataSource={outcome?.results.filter((r) => !r.ok) ?? []}
            renderItem={(r) => <List.Item><span><Typography.Text strong>{outcome?.names.get(r.id) ?? r.id}</Typography.Text>: {r.error ? errorText(r.error) : null}</span></List.Item>}
          />
        </div>
      </Modal>
    </>
  );
}
