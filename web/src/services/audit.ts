import { api, mapPage, type ListPage } from './api.ts';
import { bool, str, strOrNull, type Json, type ListParams } from './common.ts';

export interface LoginLog {
  id: string;
  username: string;
  userId: string | null;
  clientAddress: string;
  channel: string;
  method: string;
  ok: boolean;
  reason: string;
  createdAt: string | null;
}

export function makeLoginLog(j: Json): LoginLog {
  return {
    id: str(j.id), username: str(j.username), userId: strOrNull(j.userId), clientAddress: str(j.clientAddress), channel: str(j.channel),
    method: str(j.method), ok: bool(j.ok), reason: str(j.reason), createdAt: strOrNull(j.createdAt),
  };
}

export interface OperationLog {
  id: string;
  actor: { id: string | null; username: string };
  action: string;
  resourceType: string;
  resourceId: string | null;
  resourceName: string;
  changes: unknown;
  clientAddress: string;
  createdAt: string | null;
}

export function makeOperationLog(j: Json): OperationLog {
  const a = (j.actor ?? {}) as Json;
  return {
    id: str(j.id), actor: { id: strOrNull(a.id), username: str(a.username) }, action: str(j.action), resourceType: str(j.resourceType),
    resourceId: strOrNull(j.resourceId), resourceName: str(j.resourceName), changes: j.changes ?? null, clientAddress: str(j.clientAddress),
    createdAt: strOrNull(j.createdAt),
  };
}

export interface LoginLogParams extends ListParams {
  username?: string;
  ok?: boolean;
  channel?: 'web' | 'ssh' | 'api';
  from?: string;
  to?: string;
}

export interface OperationLogParams extends ListParams {
  actor?: string;
  resourceType?: string;
  action?: string;
  from?: string;
  to?: string;
}

export const auditService = {
  async logins(q: LoginLogParams): Promise<ListPage<LoginLog>> { return mapPage(await api.get<ListPage<Json>>('/audit/logins', { ...q }), makeLoginLog); },
  async operations(q: OperationLogParams): Promise<ListPage<OperationLog>> { return mapPage(await api.get<ListPage<Json>>('/audit/operations', { ...q }), makeOperationLog); },
};
