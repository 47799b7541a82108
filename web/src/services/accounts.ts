import { api, mapPage, type ListPage } from './api.ts';
import { bool, num, str, strOrNull, type Json, type ListParams } from './common.ts';

/** An account on assets: a system user (operators log in as it) or an admin user (the bastion's own). */
export interface Account {
  id: string;
  name: string;
  username: string;
  comment: string;
  hasPassword: boolean;
  hasPrivateKey: boolean;
  createdAt: string | null;
}

export interface SystemUser extends Account {
  loginMode: 'auto' | 'manual';
  priority: number;
  sudo: string;
  shell: string;
}

export type AdminUser = Account;

function makeAccount(j: Json): Account {
  return {
    id: str(j.id), name: str(j.name), username: str(j.username), comment: str(j.comment),
    hasPassword: bool(j.hasPassword), hasPrivateKey: bool(j.hasPrivateKey), createdAt: strOrNull(j.createdAt),
  };
}

export function makeSystemUser(j: Json): SystemUser {
  return { ...makeAccount(j), loginMode: j.loginMode === 'manual' ? 'manual' : 'auto', priority: num(j.priority, 50), sudo: str(j.sudo), shell: str(j.shell) };
}

export const makeAdminUser = (j: Json): AdminUser => makeAccount(j);

/** Secrets are write-only: a string replaces, null clears, absent keeps. */
export interface AccountInput {
  name?: string;
  username?: string;
  password?: string | null;
  privateKey?: string | null;
  comment?: string;
  loginMode?: 'auto' | 'manual';
  priority?: number;
  sudo?: string;
  shell?: string;
}

export type AccountKind = 'system-users' | 'admin-users';

export function accountsService(kind: AccountKind) {
  const make = kind === 'system-users' ? makeSystemUser : makeAdminUser;
  return {
    async list(q: ListParams): Promise<ListPage<SystemUser | AdminUser>> { return mapPage(await api.get<ListPage<Json>>(`/${kind}`, { ...q }), make); },
    async create(input: AccountInput): Promise<SystemUser | AdminUser> { return make(await api.post<Json>(`/${kind}`, input)); },
    async update(id: string, patch: AccountInput): Promise<SystemUser | AdminUser> { return make(await api.patch<Json>(`/${kind}/${id}`, patch)); },
    remove: (id: string) => api.delete(`/${kind}/${id}`),
  };
}
