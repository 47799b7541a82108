import { z } from 'zod';
import { ROLES, type Role } from '../../core/db/entities/index.ts';
import { presentGrantedAsset } from '../presenters/assets.ts';
import { presentKey, presentLockedPair, presentUser } from '../presenters/identity.ts';
import { comment, idList, idParams, listQuery, name, nullableDate, password, queryBool, username } from './common.ts';
import { crudRoutes, patchOf } from './crud.ts';
import { route, type AnyRoute } from './define.ts';

const role = z.enum(ROLES as [Role, ...Role[]]);

const userBody = z.object({
  username,
  name: name.optional(),
  email: z.email().max(254).nullable().optional(),
  role: role.optional(),
  password: password.optional(),
  mustChangePassword: z.boolean().optional(),
  active: z.boolean().optional(),
  expiresAt: nullableDate.optional(),
  groups: idList.optional(),
  comment: comment.optional(),
}).strict();

const mfaPolicyBody = z.object({ admin: z.boolean().optional(), auditor: z.boolean().optional(), user: z.boolean().optional() }).strict();

const clearLocksBody = z.object({ username: z.string().min(1).max(128), source: z.string().min(1).max(64).optional() }).strict();

const keyBody = z.object({ publicKey: z.string().min(1).max(16384), name: z.string().max(128).optional() }).strict();
const keyParams = z.object({ id: z.uuid(), keyId: z.uuid() });

export const userRoutes: AnyRoute[] = [
  ...crudRoutes({
    base: '/users', tag: 'users', noun: 'user',
    service: (s) => s.users, present: presentUser,
    createBody: userBody,
    patchBody: patchOf(userBody),
    listQuery: listQuery.extend({ role: role.optional(), group: z.uuid().optional(), active: queryBool }),
  }),
  route({
    method: 'post', path: '/users/:id/lock', tag: 'users', access: 'manage', summary: 'Lock a user out for the lockout period', params: idParams,
    handler: async ({ params, actor, services }) => presentUser(await services.users.setLock(actor, params.id, true, services.config.lockoutMinutes)),
  }),
  route({
    method: 'post', path: '/users/:id/unlock', tag: 'users', access: 'manage', summary: 'Unlock a user: ends an admin lock and clears the login locks of every source address', params: idParams,
    handler: async ({ params, actor, services }) => {
      const user = await services.users.setLock(actor, params.id, false, 0);
      // Failed logins lock (username, source) pairs: unlocking the user clears those too.
      await services.authentication.throttle.clear(user.username);
      return presentUser(user);
    },
  }),
  route({
    method: 'get', path: '/login-locks', tag: 'users', access: 'manage', summary: 'Username + source address pairs locked by failed logins now',
    handler: async ({ services }) => {
      const items = (await services.authentication.lockedPairs()).map(presentLockedPair);
      return { items, total: items.length };
    },
  }),
  route({
    method: 'post', path: '/login-locks/clear', tag: 'users', access: 'manage', summary: 'Clear the login locks of a username (from one source address, or all)', body: clearLocksBody,
    handler: async ({ body, actor, services }) => ({ cleared: await services.authentication.clearLocks(actor, body.username, body.source) }),
  }),
  route({
    method: 'post', path: '/users/:id/reset-mfa', tag: 'users', access: 'manage', summary: 'Remove the TOTP enrolment of a user', params: idParams,
    handler: async ({ params, actor, services }) => presentUser(await services.users.resetMfa(actor, params.id)),
  }),
  route({
    method: 'get', path: '/users/:id/keys', tag: 'users', access: 'manage', summary: "A user's SSH keys", params: idParams,
    handler: async ({ params, services }) => {
      await services.users.get(params.id);
      return { items: (await services.userKeys.list(params.id)).map(presentKey) };
    },
  }),
  route({
    method: 'post', path: '/users/:id/keys', tag: 'users', access: 'manage', summary: 'Add an SSH key for a user', status: 201, params: idParams, body: keyBody,
    handler: async ({ params, body, actor, services }) => presentKey(await services.userKeys.add(actor, params.id, body)),
  }),
  route({
    method: 'delete', path: '/users/:id/keys/:keyId', tag: 'users', access: 'manage', summary: "Delete a user's SSH key", params: keyParams,
    handler: async ({ params, actor, services }) => { await services.userKeys.remove(actor, params.id, params.keyId); },
  }),
  route({
    method: 'get', path: '/users/:id/assets', tag: 'users', access: 'manage', summary: 'What this user can reach, as decided by core/access', params: idParams,
    handler: async ({ params, services }) => {
      await services.users.get(params.id);
      const granted = await services.access.granted(params.id);
      return { items: granted.map((g) => presentGrantedAsset(g)), total: granted.length };
    },
  }),
  route({
    method: 'get', path: '/mfa-policy', tag: 'users', access: 'manage', summary: 'Which roles must log in with MFA (web and SSH)',
    handler: async ({ services }) => services.mfaPolicy.get(),
  }),
  route({
    method: 'patch', path: '/mfa-policy', tag: 'users', access: 'manage', summary: 'Require MFA per role; users of such a role without MFA must enrol at their next login', body: mfaPolicyBody,
    handler: async ({ actor, body, services }) => services.mfaPolicy.set(actor, body),
  }),
];
