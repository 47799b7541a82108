import { z } from 'zod';
import { BULK_ACTIONS, type BulkAction, type BulkResource, type BulkResult } from '../../core/bulk/bulkActions.ts';
import { presentJob } from '../presenters/ops.ts';
import { route, type AnyRoute } from './define.ts';

/** Many rows at once: at most this many ids per request. */
const MAX_IDS = 1000;

function bulkBody(resource: BulkResource) {
  const actions = BULK_ACTIONS[resource] as [BulkAction, ...BulkAction[]];
  return z.object({
    action: z.enum(actions),
    ids: z.array(z.uuid('must be a UUID')).min(1, 'choose at least one').max(MAX_IDS),
    node: z.uuid().optional(),
    permission: z.uuid().optional(),
  }).strict().superRefine((b, ctx) => {
    if (b.action === 'move' && !b.node) ctx.addIssue({ code: 'custom', path: ['node'], message: 'is required to move', params: { reason: 'node_required' } });
    if (b.action === 'addToPermission' && !b.permission) ctx.addIssue({ code: 'custom', path: ['permission'], message: 'is required to add to a permission', params: { reason: 'permission_required' } });
  });
}

function presentBulk(r: BulkResult) {
  return { action: r.action, ok: r.ok, failed: r.failed, results: r.results, job: r.job ? presentJob(r.job) : null };
}

const RESOURCES: { path: string; resource: BulkResource; noun: string; tag: string }[] = [
  { path: '/users/bulk', resource: 'users', noun: 'users', tag: 'users' },
  { path: '/assets/bulk', resource: 'assets', noun: 'assets', tag: 'assets' },
  { path: '/system-users/bulk', resource: 'systemUsers', noun: 'system users', tag: 'system-users' },
  { path: '/permissions/bulk', resource: 'permissions', noun: 'permissions', tag: 'permissions' },
];

/**
 * POST /<resource>/bulk {action, ids, node?, permission?}: each item as its single endpoint does it
 * (same checks, one operation-log row each), every item's outcome in `results`; test and facts
 * start one job over the assets.
 */
export const bulkRoutes: AnyRoute[] = RESOURCES.map(({ path, resource, noun, tag }) => route({
  method: 'post', path, tag, access: 'manage', body: bulkBody(resource),
  summary: `Act on many ${noun} at once (${BULK_ACTIONS[resource].join(', ')}); the outcome of every item is reported`,
  handler: async ({ body, actor, services }) => presentBulk(await services.bulk.run(actor, resource, body)),
}));
