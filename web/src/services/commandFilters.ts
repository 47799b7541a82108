import { api, mapPage, type ListPage } from './api.ts';
import { bool, num, refs, str, strOrNull, type Json, type ListParams, type Ref } from './common.ts';

export type FilterKind = 'regex' | 'commands';
export type FilterAction = 'deny' | 'allow' | 'confirm';
export const FILTER_KINDS: FilterKind[] = ['commands', 'regex'];
export const FILTER_ACTIONS: FilterAction[] = ['deny', 'confirm', 'allow'];

export interface CommandFilter {
  id: string;
  name: string;
  kind: FilterKind;
  pattern: string;
  action: FilterAction;
  priority: number;
  active: boolean;
  /** Ids; an empty list means "all". */
  users: string[];
  userGroups: string[];
  assets: string[];
  nodes: string[];
  systemUsers: string[];
  /** The same scopes with names, for display. */
  scopeNames: Record<'users' | 'userGroups' | 'assets' | 'nodes' | 'systemUsers', Ref[]>;
  comment: string;
  createdAt: string | null;
}

const ids = (r: Ref[]) => r.map((x) => x.id);

export function makeCommandFilter(j: Json): CommandFilter {
  const scopeNames = { users: refs(j.users), userGroups: refs(j.userGroups), assets: refs(j.assets), nodes: refs(j.nodes), systemUsers: refs(j.systemUsers) };
  return {
    id: str(j.id), name: str(j.name), kind: j.kind === 'regex' ? 'regex' : 'commands', pattern: str(j.pattern),
    action: j.action === 'allow' || j.action === 'confirm' ? j.action : 'deny', priority: num(j.priority, 50), active: bool(j.active),
    users: ids(scopeNames.users), userGroups: ids(scopeNames.userGroups), assets: ids(scopeNames.assets), nodes: ids(scopeNames.nodes), systemUsers: ids(scopeNames.systemUsers),
    scopeNames,
    comment: str(j.comment), createdAt: strOrNull(j.createdAt),
  };
}

export interface CommandFilterInput {
  name?: string;
  kind?: FilterKind;
  pattern?: string;
  action?: FilterAction;
  priority?: number;
  active?: boolean;
  users?: string[];
  userGroups?: string[];
  assets?: string[];
  nodes?: string[];
  systemUsers?: string[];
  comment?: string;
}

export interface Verdict {
  action: FilterAction;
  filter: { id: string; name: string } | null;
}

export interface Confirmation {
  id: string;
  sessionId: string | null;
  /** Set when a command job waits for this decision (one request covers all its held assets). */
  jobId: string | null;
  /** Whose command it is (null from a holder that did not say). */
  userId: string | null;
  username: string;
  assetName: string;
  systemUsername: string;
  command: string;
  filter: string;
  createdAt: string | null;
  expiresAt: string | null;
}

export function makeConfirmation(j: Json): Confirmation {
  return {
    id: str(j.id), sessionId: strOrNull(j.sessionId), jobId: strOrNull(j.jobId), userId: strOrNull(j.userId), username: str(j.username), assetName: str(j.assetName), systemUsername: str(j.systemUsername),
    command: str(j.command), filter: str(j.filter), createdAt: strOrNull(j.createdAt), expiresAt: strOrNull(j.expiresAt),
  };
}

export const commandFiltersService = {
  async list(q: ListParams & { active?: boolean }): Promise<ListPage<CommandFilter>> { return mapPage(await api.get<ListPage<Json>>('/command-filters', { ...q }), makeCommandFilter); },
  async create(input: CommandFilterInput): Promise<CommandFilter> { return makeCommandFilter(await api.post<Json>('/command-filters', input)); },
  async update(id: string, patch: CommandFilterInput): Promise<CommandFilter> { return makeCommandFilter(await api.patch<Json>(`/command-filters/${id}`, patch)); },
  remove: (id: string) => api.delete(`/command-filters/${id}`),
  async check(q: { user: string; asset: string; systemUser?: string | null; command: string }): Promise<Verdict> {
    const j = await api.post<Json>('/command-filters/check', q);
    const f = j.filter as Json | null;
    return { action: (str(j.action, 'allow') as FilterAction), filter: f ? { id: str(f.id), name: str(f.name) } : null };
  },
  async pending(): Promise<Confirmation[]> { return (await api.get<ListPage<Json>>('/command-confirmations')).items.map(makeConfirmation); },
  approve: (id: string) => api.post<unknown>(`/command-confirmations/${id}/approve`),
  reject: (id: string) => api.post<unknown>(`/command-confirmations/${id}/reject`),
};
