import { TreeSelect } from 'antd';
import { useQuery } from '@tanstack/react-query';
import { nodesService } from '../services/nodes.ts';
import { buildNodeTree } from './nodeTree.ts';

export const NODES_KEY = ['nodes'] as const;

export function useNodes() {
  return useQuery({ queryKey: NODES_KEY, queryFn: () => nodesService.tree() });
}

/** Several nodes of the asset tree. */
export function NodePicker({ id, value, onChange }: { id?: string; value?: string[]; onChange?: (v: string[]) => void }) {
  const nodes = useNodes();
  return (
    <TreeSelect
      id={id}
      multiple
      treeDefaultExpandAll
      showSearch={{ treeNodeFilterProp: 'title' }}
      allowClear
      loading={nodes.isLoading}
      treeData={buildNodeTree(nodes.data ?? [])}
      value={value ?? []}
      onChange={(v: string[]) => onChange?.(v)}
      style={{ width: '100%' }}
    />
  );
}
