import { api, mapPage, type ListPage } from './api.ts';
import { bool, refs, str, strOrNull, strings, type Action, type Json, type ListParams, type Ref } from './common.ts';

export interface Permission {
  id: string;
  name: string;
  actions: Action[];
  validFrom: string | null;
  validTo: string | null;
  active: boolean;
  comment: string;
  users: Ref[];
  userGroups: Ref[];
  assets: Ref[];
  nodes: Ref[];
  systemUsers: Ref[];
  createdAt: string | null;
}

export function makePermission(j: Json): Permission {
  return {
    id: str(j.id), name: str(j.name), actions: strings(j.actions) as Action[], validFrom: strOrNull(j.validFrom), validTo: strOrNull(j.validTo),
    active: bool(j.active), comment: str(j.comment), users: refs(j.users), userGroups: refs(j.userGroups), assets: refs(j.assets),
    nodes: refs(j.nodes), systemUsers: refs(j.systemUsers), createdAt: strOrNull(j.createdAt),
  };
}

export interface PermissionInput {
  name?: string;
  users?: string[];
  userGroups?: string[];
  assets?: string[];
  nodes?: string[];
  systemUsers?: string[];
  actions?: Action[];
  validFrom?: string | null;
  validTo?: string | null;
  active?: boolean;
  comment?: string;
}

export interface PermissionListParams extends ListParams {
  user?: string;
  asset?: string;
  active?: boolean;
  /** `key:value` labels, comma-separated: permissions covering an asset that carries them all. */
  labels?: string;
}

export const permissionsService = {
  async list(q: PermissionListParams): Promise<ListPage<Permission>> { return mapPage(await api.get<ListPage<Json>>('/permissions', { ...q }), makePermission); },
  async create(input: PermissionInput): Promise<Permission> { return makePermission(await api.post<Json>('/permissions', input)); },
  async update(id: string, patch: PermissionInput): Promise<Permission> { return makePermission(await api.patch<Json>(`/permissions/${id}`, patch)); },
  remove: (id: string) => api.delete(`/permissions/${id}`),
};
