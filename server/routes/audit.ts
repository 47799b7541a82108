import { z } from 'zod';
import { presentLoginLog, presentOperationLog } from '../presenters/audit.ts';
import { listQuery, pageOf, queryBool, queryDate } from './common.ts';
import { route, type AnyRoute } from './define.ts';

export const auditRoutes: AnyRoute[] = [
  route({
    method: 'get', path: '/audit/logins', tag: 'audit', access: 'audit', summary: 'Login log (web and SSH)',
    query: listQuery.extend({ username: z.string().max(128).optional(), ok: queryBool, channel: z.enum(['web', 'ssh', 'api']).optional(), from: queryDate, to: queryDate }),
    handler: async ({ query, services }) => pageOf(await services.auditLogs.logins(query), presentLoginLog),
  }),
  route({
    method: 'get', path: '/audit/operations', tag: 'audit', access: 'audit', summary: 'Operation log of admin changes (secrets redacted)',
    query: listQuery.extend({ actor: z.string().max(64).optional(), resourceType: z.string().max(32).optional(), action: z.string().max(32).optional(), from: queryDate, to: queryDate }),
    handler: async ({ query, services }) => pageOf(await services.auditLogs.operations(query), presentOperationLog),
  }),
];
