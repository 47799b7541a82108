import { z } from 'zod';
import { presentCommandFilter, presentConfirmation } from '../presenters/control.ts';
import { comment, idList, idParams, listQuery, name, queryBool } from './common.ts';
import { crudRoutes, patchOf } from './crud.ts';
import { route, type AnyRoute } from './define.ts';
import type { Services } from '../../core/services.ts';
import type { Actor } from '../../core/actor.ts';
import type { CommandFilterInput } from '../../core/access/commandFilters.ts';

const filterBody = z.object({
  name,
  kind: z.enum(['regex', 'commands']).optional(),
  pattern: z.string().min(1, 'is required').max(1000),
  action: z.enum(['deny', 'allow', 'confirm']).optional(),
  priority: z.number().int().min(1).max(100).optional(),
  active: z.boolean().optional(),
  users: idList.optional(),
  userGroups: idList.optional(),
  assets: idList.optional(),
  nodes: idList.optional(),
  systemUsers: idList.optional(),
  comment: comment.optional(),
}).strict();

/** The filter service with scopes resolved to names, for the API's shape. */
function namedFilters(s: Services) {
  const f = s.commandFilters;
  return {
    list: async (q: Parameters<typeof f.list>[0]) => {
      const page = await f.list(q);
      return { items: await f.named(page.items), total: page.total };
    },
    get: async (id: string) => (await f.named([await f.get(id)]))[0]!,
    create: async (actor: Actor, input: CommandFilterInput) => (await f.named([await f.create(actor, input)]))[0]!,
    update: async (actor: Actor, id: string, patch: Partial<CommandFilterInput>) => (await f.named([await f.update(actor, id, patch)]))[0]!,
    remove: (actor: Actor, id: string) => f.remove(actor, id),
  };
}

/** Live control: command filters, confirmations, terminating sessions, the dashboard and retention. */
export const controlRoutes: AnyRoute[] = [
  ...crudRoutes({
    base: '/command-filters', tag: 'command-filters', noun: 'command filter',
    service: (s) => namedFilters(s), present: presentCommandFilter,
    createBody: filterBody, patchBody: patchOf(filterBody),
    listQuery: listQuery.extend({ active: queryBool }),
  }),
  route({
    method: 'post', path: '/command-filters/check', tag: 'command-filters', access: 'manage',
    summary: 'Which verdict a command line would get for a user, asset and system user (to try filters out)',
    body: z.object({ user: z.uuid(), asset: z.uuid(), systemUser: z.uuid().nullable().optional(), command: z.string().min(1).max(8192) }).strict(),
    handler: async ({ body, services }) => services.commandFilters.check({ userId: body.user, assetId: body.asset, systemUserId: body.systemUser ?? null }, body.command),
  }),
  route({
    method: 'get', path: '/command-confirmations', tag: 'command-filters', access: 'manage', summary: 'Commands waiting for an admin to approve or reject them',
    handler: async ({ services }) => {
      const items = services.confirmations.pending().map(presentConfirmation);
      return { items, total: items.length };
    },
  }),
  route({
    method: 'post', path: '/command-confirmations/:id/approve', tag: 'command-filters', access: 'manage', params: idParams, summary: 'Let a held command run (an admin cannot decide on their own: 403 own_confirmation)',
    handler: async ({ params, actor, services }) => { await services.confirmations.decide(actor, params.id, true); },
  }),
  route({
    method: 'post', path: '/command-confirmations/:id/reject', tag: 'command-filters', access: 'manage', params: idParams, summary: 'Refuse a held command (an admin cannot decide on their own: 403 own_confirmation)',
    handler: async ({ params, actor, services }) => { await services.confirmations.decide(actor, params.id, false); },
  }),
  route({
    method: 'post', path: '/sessions/:id/terminate', tag: 'sessions', access: 'audit', params: idParams, status: 202,
    summary: "End a live session; the operator's connection closes with a message naming who ended it",
    handler: async ({ params, actor, services }) => {
      await services.sessionControl.terminate(actor, params.id);
      return { ok: true };
    },
  }),
  route({
    method: 'get', path: '/dashboard', tag: 'audit', access: 'audit', summary: 'Counts, 7-day trends, top assets and users, failed logins, recordings disk use',
    handler: async ({ services }) => services.dashboard.get(),
  }),
  route({
    method: 'post', path: '/audit/retention/purge', tag: 'audit', access: 'manage',
    summary: 'Delete recordings and logs older than `days` (at least BASTION_RETENTION_MIN_DAYS) now, as the daily job does with BASTION_RETENTION_DAYS; admin only, once a minute, recorded in the operation log',
    // `days` is required: erasing audit is never a default.
    body: z.object({ days: z.number().int().min(1).max(36500) }).strict(),
    handler: async ({ body, actor, services }) => services.retention.purge(actor, body.days),
  }),
];
