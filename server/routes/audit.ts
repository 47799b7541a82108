import { z } from 'zod';
import { presentFileTransfer, presentLoginLog, presentOperationLog } from '../presenters/audit.ts';
import { listQuery, pageOf, queryBool, queryDate } from './common.ts';
import { RESPONDED, route, type AnyRoute } from './define.ts';
import { CSV_MAX_ROWS, sendCsv } from '../presenters/csv.ts';

const format = z.enum(['json', 'csv']).optional();

export const auditRoutes: AnyRoute[] = [
  route({
    method: 'get', path: '/audit/logins', tag: 'audit', access: 'audit', summary: 'Login log (web and SSH)',
    query: listQuery.extend({ username: z.string().max(128).optional(), ok: queryBool, channel: z.enum(['web', 'ssh', 'api']).optional(), from: queryDate, to: queryDate, format }),
    handler: async ({ query, res, services }) => {
      if (query.format !== 'csv') return pageOf(await services.auditLogs.logins(query), presentLoginLog);
      const page = await services.auditLogs.logins({ ...query, limit: CSV_MAX_ROWS, offset: 0 });
      sendCsv(res, 'login-log.csv', ['createdAt', 'username', 'clientAddress', 'channel', 'method', 'ok', 'reason'], page.items.map(presentLoginLog));
      return RESPONDED;
    },
  }),
  route({
    method: 'get', path: '/audit/operations', tag: 'audit', access: 'audit', summary: 'Operation log of admin changes (secrets redacted)',
    query: listQuery.extend({ actor: z.string().max(64).optional(), resourceType: z.string().max(32).optional(), action: z.string().max(32).optional(), from: queryDate, to: queryDate, format }),
    handler: async ({ query, res, services }) => {
      if (query.format !== 'csv') return pageOf(await services.auditLogs.operations(query), presentOperationLog);
      const page = await services.auditLogs.operations({ ...query, limit: CSV_MAX_ROWS, offset: 0 });
      sendCsv(res, 'operation-log.csv', ['createdAt', 'actor.username', 'action', 'resourceType', 'resourceName', 'resourceId', 'clientAddress', 'changes'], page.items.map(presentOperationLog));
      return RESPONDED;
    },
  }),
  route({
    method: 'get', path: '/audit/file-transfers', tag: 'audit', access: 'audit', summary: 'Uploads, downloads, renames and deletes through the gateway (allowed and refused)',
    query: listQuery.extend({
      user: z.string().max(128).optional(), asset: z.string().max(128).optional(), session: z.uuid().optional(),
      operation: z.enum(['upload', 'download', 'delete', 'rename', 'mkdir', 'rmdir', 'setstat', 'symlink', 'hardlink', 'copy']).optional(), ok: queryBool, from: queryDate, to: queryDate, format,
    }),
    handler: async ({ query, res, services }) => {
      if (query.format !== 'csv') return pageOf(await services.fileTransfers.list(query), presentFileTransfer);
      const page = await services.fileTransfers.list({ ...query, limit: CSV_MAX_ROWS, offset: 0 });
      sendCsv(res, 'file-transfers.csv', ['createdAt', 'user.username', 'asset.name', 'systemUsername', 'operation', 'path', 'targetPath', 'size', 'ok', 'message', 'sessionId'], page.items.map(presentFileTransfer));
      return RESPONDED;
    },
  }),
];
