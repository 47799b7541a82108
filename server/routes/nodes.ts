import { z } from 'zod';
import { presentNode } from '../presenters/assets.ts';
import { idParams, name } from './common.ts';
import { route, type AnyRoute } from './define.ts';

const createBody = z.object({ name, parent: z.uuid().nullable().optional() }).strict();
const patchBody = z.object({ name: name.optional(), parent: z.uuid().optional() }).strict()
  .refine((o) => Object.keys(o).length > 0, { message: 'nothing to change', params: { reason: 'nothing_to_change' } });

export const nodeRoutes: AnyRoute[] = [
  route({
    method: 'get', path: '/nodes', tag: 'nodes', access: 'manage', summary: 'The whole node tree as a flat list (parent ids, paths, asset counts)',
    handler: async ({ services }) => {
      const items = (await services.nodes.tree()).map(presentNode);
      return { items, total: items.length };
    },
  }),
  route({
    method: 'post', path: '/nodes', tag: 'nodes', access: 'manage', summary: 'Create a node (under the root when no parent is given)', status: 201, body: createBody,
    handler: async ({ body, actor, services }) => presentNode(await services.nodes.create(actor, body)),
  }),
  route({
    method: 'get', path: '/nodes/:id', tag: 'nodes', access: 'manage', summary: 'Get a node', params: idParams,
    handler: async ({ params, services }) => presentNode(await services.nodes.get(params.id)),
  }),
  route({
    method: 'patch', path: '/nodes/:id', tag: 'nodes', access: 'manage', summary: 'Rename or move a node', params: idParams, body: patchBody,
    handler: async ({ params, body, actor, services }) => presentNode(await services.nodes.update(actor, params.id, body)),
  }),
  route({
    method: 'delete', path: '/nodes/:id', tag: 'nodes', access: 'manage', summary: 'Delete an empty node', params: idParams,
    handler: async ({ params, actor, services }) => { await services.nodes.remove(actor, params.id); },
  }),
];
