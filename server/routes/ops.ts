import { z } from 'zod';
import { ForbiddenError, NotFoundError } from '../../core/errors.ts';
import { presentJob, presentSavedCommand } from '../presenters/ops.ts';
import { comment, idList, idParams, listQuery, name, pageOf } from './common.ts';
import { patchOf } from './crud.ts';
import { route, type AnyRoute } from './define.ts';

const testBody = z.object({ systemUser: z.uuid().optional() }).strict();
const pushBody = z.object({ assets: idList.optional(), nodes: idList.optional() }).strict();
const commandBody = z.object({
  kind: z.literal('command'),
  assets: idList.optional(),
  nodes: idList.optional(),
  /** Also every asset that carries all these labels (`key:value`). */
  labels: z.array(z.string().min(1).max(64)).max(20).optional(),
  systemUser: z.uuid(),
  command: z.string().min(1, 'is required').max(10_000),
  timeoutSeconds: z.number().int().min(1).max(3600).optional(),
}).strict();

const savedCommandBody = z.object({
  name,
  command: z.string().min(1, 'is required').max(10_000),
  systemUser: z.uuid(),
  assets: idList.optional(),
  nodes: idList.optional(),
  timeoutSeconds: z.number().int().min(1).max(3600).optional(),
  comment: comment.optional(),
}).strict();
const runSavedBody = z.object({ assets: idList.optional(), nodes: idList.optional() }).strict();

export const opsRoutes: AnyRoute[] = [
  route({
    method: 'post', path: '/assets/:id/test', tag: 'operations', access: 'manage', params: idParams, body: testBody,
    summary: "Log in with the asset's admin user (or a given system user) and report {ok, latencyMs, message}",
    handler: async ({ params, body, services }) => services.operations.testAsset(params.id, body.systemUser),
  }),
  route({
    method: 'post', path: '/nodes/:id/test', tag: 'operations', access: 'manage', params: idParams, status: 202,
    summary: 'Test connectivity of every asset under a node, as a job',
    handler: async ({ params, actor, services }) => presentJob(await services.operations.testNode(actor, params.id)),
  }),
  route({
    method: 'post', path: '/assets/:id/facts', tag: 'operations', access: 'manage', params: idParams, status: 202,
    summary: 'Gather hardware and OS facts with Ansible, as a job',
    handler: async ({ params, actor, services }) => {
      await services.assets.get(params.id);
      return presentJob(await services.operations.gatherFacts(actor, { asset: params.id }));
    },
  }),
  route({
    method: 'post', path: '/nodes/:id/facts', tag: 'operations', access: 'manage', params: idParams, status: 202,
    summary: 'Gather facts of every asset under a node, as a job',
    handler: async ({ params, actor, services }) => presentJob(await services.operations.gatherFacts(actor, { node: params.id })),
  }),
  route({
    method: 'post', path: '/system-users/:id/push', tag: 'operations', access: 'manage', params: idParams, body: pushBody, status: 202,
    summary: 'Create or update this account on assets through their admin user (Ansible user, authorized_key, sudo), as a job',
    handler: async ({ params, body, actor, services }) => presentJob(await services.operations.pushSystemUser(actor, params.id, body)),
  }),
  route({
    method: 'post', path: '/jobs', tag: 'jobs', access: 'self', body: commandBody, status: 202,
    summary: 'Run a shell command on assets (admins anywhere; others where they may connect as that system user)',
    handler: async ({ body, auth, actor, services }) => presentJob(await services.operations.runCommand(actor, auth.user, body)),
  }),
  route({
    method: 'get', path: '/jobs', tag: 'jobs', access: 'self', summary: 'Jobs (admins and auditors: all; others: their own)',
    query: listQuery.extend({ kind: z.enum(['connectivity', 'facts', 'push', 'command']).optional(), status: z.enum(['queued', 'running', 'succeeded', 'partial', 'failed', 'canceled']).optional() }),
    handler: async ({ query, auth, services }) => {
      const mine = services.access.mayViewJob(auth.user, { createdBy: null }) ? undefined : auth.user.id;
      return pageOf(await services.jobs.list({ ...query, createdBy: mine }), presentJob);
    },
  }),
  route({
    method: 'get', path: '/jobs/:id', tag: 'jobs', access: 'self', params: idParams, summary: 'A job with per-asset results',
    handler: async ({ params, auth, services }) => {
      const job = await services.jobs.get(params.id);
      if (!services.access.mayViewJob(auth.user, job)) throw new NotFoundError('job not found', { reason: 'job_not_found' });
      return presentJob(job);
    },
  }),
  route({
    method: 'post', path: '/jobs/:id/cancel', tag: 'jobs', access: 'self', params: idParams, summary: 'Cancel a running job',
    handler: async ({ params, auth, actor, services }) => {
      const job = await services.jobs.get(params.id);
      if (!services.access.mayViewJob(auth.user, job)) throw new NotFoundError('job not found', { reason: 'job_not_found' });
      if (!services.access.mayCancelJob(auth.user, job)) throw new ForbiddenError('auditors may read jobs, not cancel them', { reason: 'auditor_cannot_cancel' });
      return presentJob(await services.jobs.cancel(actor, params.id));
    },
  }),
  route({
    method: 'post', path: '/jobs/:id/retry', tag: 'jobs', access: 'self', params: idParams, status: 202,
    summary: 'A new job over the assets where this one failed, timed out or was canceled (admins: any job; others: their own command jobs)',
    handler: async ({ params, auth, actor, services }) => {
      const job = await services.jobs.get(params.id);
      if (!services.access.mayViewJob(auth.user, job)) throw new NotFoundError('job not found', { reason: 'job_not_found' });
      if (!services.access.mayRetryJob(auth.user, job)) throw new ForbiddenError('you may retry only the command jobs you started', { reason: 'retry_own_jobs_only' });
      return presentJob(await services.operations.retryFailed(actor, auth.user, job));
    },
  }),
  route({
    method: 'get', path: '/saved-commands', tag: 'jobs', access: 'self', query: listQuery,
    summary: 'Saved commands (everyone reads them; running one needs the grants of any command job)',
    handler: async ({ query, services }) => pageOf(await services.savedCommands.list(query), presentSavedCommand),
  }),
  route({
    method: 'post', path: '/saved-commands', tag: 'jobs', access: 'manage', body: savedCommandBody, status: 201, summary: 'Save a command with its system user and default targets',
    handler: async ({ body, actor, services }) => presentSavedCommand(await services.savedCommands.create(actor, body)),
  }),
  route({
    method: 'get', path: '/saved-commands/:id', tag: 'jobs', access: 'self', params: idParams, summary: 'A saved command',
    handler: async ({ params, services }) => presentSavedCommand(await services.savedCommands.get(params.id)),
  }),
  route({
    method: 'patch', path: '/saved-commands/:id', tag: 'jobs', access: 'manage', params: idParams, body: patchOf(savedCommandBody), summary: 'Change fields of a saved command',
    handler: async ({ params, body, actor, services }) => presentSavedCommand(await services.savedCommands.update(actor, params.id, body)),
  }),
  route({
    method: 'delete', path: '/saved-commands/:id', tag: 'jobs', access: 'manage', params: idParams, summary: 'Delete a saved command',
    handler: async ({ params, actor, services }) => { await services.savedCommands.remove(actor, params.id); },
  }),
  route({
    method: 'post', path: '/saved-commands/:id/run', tag: 'jobs', access: 'self', params: idParams, body: runSavedBody, status: 202,
    summary: 'Run a saved command on the given assets and nodes, else on its default targets, as a command job (same grants and filters as POST /jobs)',
    handler: async ({ params, body, auth, actor, services }) => presentJob(await services.operations.runSaved(actor, auth.user, await services.savedCommands.get(params.id), body)),
  }),
];
