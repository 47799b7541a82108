import { z } from 'zod';
import { isIP } from 'node:net';
import { NotFoundError } from '../../core/errors.ts';
import { presentAsset, presentHostKey, presentReacher } from '../presenters/assets.ts';
import { comment, idList, idParams, labelsQuery, listQuery, name, queryBool } from './common.ts';
import { crudRoutes, patchOf } from './crud.ts';
import { route, type AnyRoute } from './define.ts';

const hostname = z.string().trim().min(1).max(255).refine(
  (s) => isIP(s) !== 0 || /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(s),
  { message: 'must be an IP address or a host name', params: { reason: 'invalid_address' } },
);

const assetBody = z.object({
  name,
  address: hostname,
  port: z.number().int().min(1).max(65535).optional(),
  platform: z.enum(['linux', 'unix', 'bsd', 'macos', 'other']).optional(),
  nodes: idList.optional(),
  adminUser: z.uuid().nullable().optional(),
  active: z.boolean().optional(),
  labels: z.array(z.string().min(1).max(64)).max(100).optional(),
  comment: comment.optional(),
}).strict();

export const assetRoutes: AnyRoute[] = [
  ...crudRoutes({
    base: '/assets', tag: 'assets', noun: 'asset',
    service: (s) => s.assets, present: presentAsset,
    createBody: assetBody, patchBody: patchOf(assetBody),
    listQuery: listQuery.extend({ node: z.uuid().optional(), active: queryBool, platform: z.string().max(32).optional(), labels: labelsQuery }),
  }),
  route({
    method: 'get', path: '/labels', tag: 'assets', access: 'manage', summary: 'Every asset label in use (`key:value`), with how many assets carry it',
    handler: async ({ services }) => {
      const items = await services.assets.labelCounts();
      return { items, total: items.length };
    },
  }),
  route({
    method: 'get', path: '/assets/:id/host-key', tag: 'assets', access: 'manage', summary: 'The pinned backend host key', params: idParams,
    handler: async ({ params, services }) => {
      await services.assets.get(params.id);
      const key = await services.hostKeys.get(params.id);
      if (!key) throw new NotFoundError('no host key is pinned for this asset yet', { reason: 'no_host_key' });
      return presentHostKey(key);
    },
  }),
  route({
    method: 'delete', path: '/assets/:id/host-key', tag: 'assets', access: 'manage', summary: 'Forget the pinned host key (the next connection pins the new one)', params: idParams,
    handler: async ({ params, actor, services }) => { await services.hostKeys.clear(actor, params.id); },
  }),
  route({
    method: 'get', path: '/assets/:id/reachers', tag: 'assets', access: 'manage', summary: 'Who can reach this asset, as decided by core/access', params: idParams,
    handler: async ({ params, services }) => {
      await services.assets.get(params.id);
      const items = (await services.access.reachersOf(params.id)).map(presentReacher);
      return { items, total: items.length };
    },
  }),
];
