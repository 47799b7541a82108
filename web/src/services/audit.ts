import { api, apiUrl, mapPage, type ListPage, type Query } from './api.ts';
import { bool, num, str, strOrNull, type Json, type ListParams } from './common.ts';

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

export const FILE_OPERATIONS = ['upload', 'download', 'delete', 'rename', 'mkdir', 'rmdir', 'setstat', 'symlink', 'hardlink', 'copy'] as const;
export type FileOperation = (typeof FILE_OPERATIONS)[number];

export interface FileTransfer {
  id: string;
  sessionId: string | null;
  user: { id: string | null; username: string };
  asset: { id: string | null; name: string };
  systemUsername: string;
  operation: string;
  path: string;
  targetPath: string | null;
  size: number | null;
  ok: boolean;
  message: string;
  createdAt: string | null;
}

export function makeFileTransfer(j: Json): FileTransfer {
  const u = (j.user ?? {}) as Json;
  const a = (j.asset ?? {}) as Json;
  return {
    id: str(j.id), sessionId: strOrNull(j.sessionId), user: { id: strOrNull(u.id), username: str(u.username) }, asset: { id: strOrNull(a.id), name: str(a.name) },
    systemUsername: str(j.systemUsername), operation: str(j.operation), path: str(j.path), targetPath: strOrNull(j.targetPath),
    size: typeof j.size === 'number' ? num(j.size) : null, ok: bool(j.ok), message: str(j.message), createdAt: strOrNull(j.createdAt),
  };
}

export interface FileTransferParams extends ListParams {
  user?: string;
  asset?: string;
  session?: string;
  operation?: FileOperation;
  ok?: boolean;
  from?: string;
  to?: string;
}

/** The CSV export of a log with the filters on screen (no paging): a plain link the browser downloads with its cookie. */
export function csvUrl(path: '/audit/logins' | '/audit/operations' | '/audit/file-transfers', params: Query): string {
  const { limit: _l, offset: _o, ...filters } = params;
  return apiUrl(path, { ...filters, format: 'csv' });
}

export const auditService = {
  async fileTransfers(q: FileTransferParams): Promise<ListPage<FileTransfer>> { return mapPage(await api.get<ListPage<Json>>('/audit/file-transfers', { ...q }), makeFileTransfer); },
  async logins(q: LoginLogParams): Promise<ListPage<LoginLog>> { return mapPage(await api.get<ListPage<Json>>('/audit/logins', { ...q }), makeLoginLog); },
  async operations(q: OperationLogParams): Promise<ListPage<OperationLog>> { return mapPage(await api.get<ListPage<Json>>('/audit/operations', { ...q }), makeOperationLog); },
};
