import { api, mapPage, type ListPage } from './api.ts';
import { bool, num, refs, str, strOrNull, type Json, type ListParams, type Ref, type Role } from './common.ts';
import { makeGrantedAsset, type GrantedAsset } from './grants.ts';
import { makeUserKey, type UserKey } from './userKeys.ts';

export interface User {
  id: string;
  username: string;
  name: string;
  email: string | null;
  role: Role;
  active: boolean;
  expiresAt: string | null;
  mustChangePassword: boolean;
  mfaEnabled: boolean;
  locked: boolean;
  lockedUntil: string | null;
  lastLoginAt: string | null;
  comment: string;
  groups: Ref[];
  createdAt: string | null;
}

export function makeUser(j: Json): User {
  const role = str(j.role);
  return {
    id: str(j.id), username: str(j.username), name: str(j.name), email: strOrNull(j.email),
    role: role === 'admin' || role === 'auditor' ? role : 'user',
    active: bool(j.active), expiresAt: strOrNull(j.expiresAt), mustChangePassword: bool(j.mustChangePassword),
    mfaEnabled: bool(j.mfaEnabled), locked: bool(j.locked), lockedUntil: strOrNull(j.lockedUntil),
    lastLoginAt: strOrNull(j.lastLoginAt), comment: str(j.comment), groups: refs(j.groups), createdAt: strOrNull(j.createdAt),
  };
}

/** A (username, source address) pair locked by failed logins. */
export interface LoginLock {
  username: string;
  source: string;
  failures: number;
  lockedUntil: string;
}

export function makeLoginLock(j: Json): LoginLock {
  return { username: str(j.username), source: str(j.source), failures: num(j.failures), lockedUntil: str(j.lockedUntil) };
}

export interface UserInput {
  username?: string;
  name?: string;
  email?: string | null;
  role?: Role;
  password?: string;
  mustChangePassword?: boolean;
  active?: boolean;
  expiresAt?: string | null;
  groups?: string[];
  comment?: string;
}

export interface UserListParams extends ListParams {
  role?: Role;
  group?: string;
  active?: boolean;
}

export const usersService = {
  async list(q: UserListParams): Promise<ListPage<User>> { return mapPage(await api.get<ListPage<Json>>('/users', { ...q }), makeUser); },
  async get(id: string): Promise<User> { return makeUser(await api.get<Json>(`/users/${id}`)); },
  async create(input: UserInput): Promise<User> { return makeUser(await api.post<Json>('/users', input)); },
  async update(id: string, patch: UserInput): Promise<User> { return makeUser(await api.patch<Json>(`/users/${id}`, patch)); },
  remove: (id: string) => api.delete(`/users/${id}`),
  async lock(id: string): Promise<User> { return makeUser(await api.post<Json>(`/users/${id}/lock`)); },
  async unlock(id: string): Promise<User> { return makeUser(await api.post<Json>(`/users/${id}/unlock`)); },
  async resetMfa(id: string): Promise<User> { return makeUser(await api.post<Json>(`/users/${id}/reset-mfa`)); },
  async keys(id: string): Promise<UserKey[]> { return (await api.get<ListPage<Json>>(`/users/${id}/keys`)).items.map(makeUserKey); },
  async addKey(id: string, publicKey: string, name?: string): Promise<UserKey> {
    return makeUserKey(await api.post<Json>(`/users/${id}/keys`, name ? { publicKey, name } : { publicKey }));
  },
  removeKey: (id: string, keyId: string) => api.delete(`/users/${id}/keys/${keyId}`),
  async loginLocks(): Promise<LoginLock[]> { return (await api.get<ListPage<Json>>('/login-locks')).items.map(makeLoginLock); },
  clearLoginLock: (username: string, source: string) => api.post<Json>('/login-locks/clear', { username, source }),
  async assets(id: string): Promise<ListPage<GrantedAsset>> { return mapPage(await api.get<ListPage<Json>>(`/users/${id}/assets`), makeGrantedAsset); },
};
