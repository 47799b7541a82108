import { api, type ListPage } from './api.ts';
import { num, str, strOrNull, type Json } from './common.ts';

export interface AssetNode {
  id: string;
  name: string;
  parent: string | null;
  path: string;
  assetCount: number;
}

export function makeNode(j: Json): AssetNode {
  return { id: str(j.id), name: str(j.name), parent: strOrNull(j.parent), path: str(j.path, str(j.name)), assetCount: num(j.assetCount) };
}

export const nodesService = {
  async tree(): Promise<AssetNode[]> { return (await api.get<ListPage<Json>>('/nodes')).items.map(makeNode); },
  async create(name: string, parent: string | null): Promise<AssetNode> { return makeNode(await api.post<Json>('/nodes', { name, parent })); },
  async update(id: string, patch: { name?: string; parent?: string }): Promise<AssetNode> { return makeNode(await api.patch<Json>(`/nodes/${id}`, patch)); },
  remove: (id: string) => api.delete(`/nodes/${id}`),
};
