import { api, mapPage, type ListPage } from './api.ts';
import { str, strOrNull, type Json, type ListParams } from './common.ts';

export interface GroupMember {
  id: string;
  username: string;
  name: string;
}

export interface UserGroup {
  id: string;
  name: string;
  comment: string;
  users: GroupMember[];
  createdAt: string | null;
}

export function makeUserGroup(j: Json): UserGroup {
  const users = Array.isArray(j.users) ? (j.users as Json[]) : [];
  return {
    id: str(j.id), name: str(j.name), comment: str(j.comment), createdAt: strOrNull(j.createdAt),
    users: users.map((u) => ({ id: str(u.id), username: str(u.username), name: str(u.name) })),
  };
}

export interface UserGroupInput {
  name?: string;
  comment?: string;
  users?: string[];
}

export const userGroupsService = {
  async list(q: ListParams): Promise<ListPage<UserGroup>> { return mapPage(await api.get<ListPage<Json>>('/user-groups', { ...q }), makeUserGroup); },
  async create(input: UserGroupInput): Promise<UserGroup> { return makeUserGroup(await api.post<Json>('/user-groups', input)); },
  async update(id: string, patch: UserGroupInput): Promise<UserGroup> { return makeUserGroup(await api.patch<Json>(`/user-groups/${id}`, patch)); },
  remove: (id: string) => api.delete(`/user-groups/${id}`),
};
