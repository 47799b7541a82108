import { z } from 'zod';
import { presentGrantedAsset, presentMyAssetRow } from '../presenters/assets.ts';
import { targetCommands } from '../../gateway/targetSyntax.ts';
import { presentKey, presentToken, presentUser } from '../presenters/identity.ts';
import { idParams, isoDate, name } from './common.ts';
import { route, type AnyRoute } from './define.ts';
import type { Services } from '../../core/services.ts';
import type { Actor } from '../../core/actor.ts';
import { RateLimitedError, ValidationError } from '../../core/errors.ts';

/** Turning MFA off or renewing its codes asks for the password again: throttled and logged like a login guess. */
async function recheckPassword(services: Services, actor: Actor, password: string): Promise<void> {
  const check = await services.authentication.password(actor.username, password, { clientAddress: actor.clientAddress, channel: 'web' }, 'password-recheck');
  if (check.ok) return;
  if (check.failure === 'rate_limited') throw new RateLimitedError(check.message, { reason: 'rate_limited' });
  throw new ValidationError('the password is wrong', { field: 'password', reason: 'wrong_password' });
}

const keyBody = z.object({ publicKey: z.string().min(1).max(16384), name: z.string().max(128).optional() }).strict();
const tokenBody = z.object({ name, expiresAt: isoDate.nullable().optional() }).strict();
const totpConfirmBody = z.object({ code: z.string().min(1).max(16) }).strict();
const passwordAgainBody = z.object({ password: z.string().min(1).max(1024) }).strict();

/** The exact ssh command an operator types to reach an asset through this bastion. */
export function sshCommandFor(services: Services, username: string, host: string) {
  return (asset: string, systemUser: string | null) => {
    const port = services.config.sshPort === 22 ? '' : `-p ${services.config.sshPort} `;
    const bastionHost = services.config.publicHost ?? host;
    return `ssh ${port}${username}@${systemUser ? systemUser + '@' : ''}${asset}@${bastionHost}`;
  };
}

const favouriteParams = z.object({ assetId: z.uuid('must be a UUID'), systemUserId: z.uuid('must be a UUID') });

/** The host name operators reach the bastion by: BASTION_PUBLIC_HOST, else the one the browser used. */
function bastionHost(services: Services, hostname: string | undefined): string {
  return services.config.publicHost ?? (hostname || 'localhost').replace(/:\d+$/, '');
}

export const meRoutes: AnyRoute[] = [
  route({
    method: 'get', path: '/me', tag: 'me', access: 'self', duringPasswordChange: true, duringMfaEnrolment: true, summary: 'The caller',
    handler: async ({ auth, services }) => {
      const user = await services.users.get(auth.user.id);
      const abilities = (['manage', 'audit', 'self'] as const).filter((a) => services.access.roleCan(user.role, a));
      return { ...presentUser(user), abilities, sshPort: services.config.sshPort, mfaEnrolmentRequired: await services.mfaPolicy.enrolmentRequired(user) };
    },
  }),
  route({
    method: 'get', path: '/me/keys', tag: 'me', access: 'self', summary: 'Your SSH public keys',
    handler: async ({ auth, services }) => ({ items: (await services.userKeys.list(auth.user.id)).map(presentKey) }),
  }),
  route({
    method: 'post', path: '/me/keys', tag: 'me', access: 'self', summary: 'Add an SSH public key', status: 201, body: keyBody,
    handler: async ({ auth, actor, body, services }) => presentKey(await services.userKeys.add(actor, auth.user.id, body)),
  }),
  route({
    method: 'delete', path: '/me/keys/:id', tag: 'me', access: 'self', summary: 'Remove one of your SSH keys', params: idParams,
    handler: async ({ auth, actor, params, services }) => { await services.userKeys.remove(actor, auth.user.id, params.id); },
  }),
  route({
    method: 'get', path: '/me/tokens', tag: 'me', access: 'self', summary: 'Your API tokens (never the token text)',
    handler: async ({ auth, services }) => ({ items: (await services.apiTokens.list(auth.user.id)).map(presentToken) }),
  }),
  route({
    method: 'post', path: '/me/tokens', tag: 'me', access: 'self', summary: 'Create an API token; the token text is shown once', status: 201, body: tokenBody,
    handler: async ({ auth, actor, body, services }) => {
      const { token, record } = await services.apiTokens.create(actor, auth.user.id, body);
      return { ...presentToken(record), token };
    },
  }),
  route({
    method: 'delete', path: '/me/tokens/:id', tag: 'me', access: 'self', summary: 'Revoke an API token', params: idParams,
    handler: async ({ auth, actor, params, services }) => { await services.apiTokens.remove(actor, auth.user.id, params.id); },
  }),
  route({
    method: 'get', path: '/me/mfa', tag: 'me', access: 'self', duringMfaEnrolment: true, summary: 'Your MFA state: enabled, recovery codes left, required by your role',
    handler: async ({ auth, services }) => services.totp.status(auth.user.id),
  }),
  route({
    method: 'post', path: '/me/totp', tag: 'me', access: 'self', duringMfaEnrolment: true, summary: 'Start TOTP enrolment: returns the secret and an otpauth:// URI', status: 201,
    handler: async ({ auth, services }) => services.totp.start(auth.user.id),
  }),
  route({
    method: 'post', path: '/me/totp/confirm', tag: 'me', access: 'self', duringMfaEnrolment: true, summary: 'Finish TOTP enrolment with a code from the app; returns ten one-time recovery codes, shown once', body: totpConfirmBody,
    handler: async ({ auth, actor, body, services }) => services.totp.confirm(actor, auth.user.id, body.code),
  }),
  route({
    method: 'post', path: '/me/totp/disable', tag: 'me', access: 'self', summary: 'Turn your MFA off after re-entering your password (refused when your role requires MFA)', status: 204, body: passwordAgainBody,
    handler: async ({ auth, actor, body, services }) => {
      await recheckPassword(services, actor, body.password);
      await services.totp.disable(actor, auth.user.id);
    },
  }),
  route({
    method: 'post', path: '/me/totp/recovery-codes', tag: 'me', access: 'self', summary: 'Replace your recovery codes with ten new ones after re-entering your password', body: passwordAgainBody,
    handler: async ({ auth, actor, body, services }) => {
      await recheckPassword(services, actor, body.password);
      return services.totp.renewRecoveryCodes(actor, auth.user.id);
    },
  }),
  route({
    method: 'get', path: '/me/assets', tag: 'me', access: 'self', summary: 'The assets you may use, with system users and actions',
    query: z.object({ search: z.string().max(200).optional(), limit: z.coerce.number().int().min(1).max(10000).optional(), offset: z.coerce.number().int().min(0).optional() }),
    handler: async ({ req, auth, query, services }) => {
      let granted = await services.access.granted(auth.user.id);
      const s = query.search?.toLowerCase();
      if (s) granted = granted.filter((g) => g.asset.name.toLowerCase().includes(s) || g.asset.address.toLowerCase().includes(s) || g.asset.comment.toLowerCase().includes(s));
      const offset = query.offset ?? 0;
      const page = granted.slice(offset, offset + (query.limit ?? 1000));
      const host = (req.hostname || 'localhost').replace(/:\d+$/, '');
      return { items: page.map((g) => presentGrantedAsset(g, sshCommandFor(services, auth.user.username, host))), total: granted.length };
    },
  }),
  route({
    method: 'get', path: '/me/targets', tag: 'me', access: 'self',
    summary: 'My assets: one row per granted (asset, system user) with its actions, favourite flag, last use and ssh/scp/sftp commands; favourites first, then recently used',
    handler: async ({ req, auth, services }) => {
      const mine = await services.myAssets.list(auth.user.id);
      const host = bastionHost(services, req.hostname);
      const rows = mine.rows.map((r) => presentMyAssetRow(r, targetCommands({ username: auth.user.username, systemUser: r.systemUser.name, asset: r.asset.name }, host, services.config.sshPort)));
      return { items: rows, total: rows.length, nodes: mine.nodes.map((n) => ({ id: n.id, name: n.name, parent: n.parent })) };
    },
  }),
  route({
    method: 'put', path: '/me/favourites/:assetId/:systemUserId', tag: 'me', access: 'self', params: favouriteParams,
    summary: 'Mark a granted (asset, system user) as a favourite on My assets',
    handler: async ({ auth, params, services }) => { await services.myAssets.setFavourite(auth.user.id, params.assetId, params.systemUserId, true); },
  }),
  route({
    method: 'delete', path: '/me/favourites/:assetId/:systemUserId', tag: 'me', access: 'self', params: favouriteParams,
    summary: 'Unmark a favourite',
    handler: async ({ auth, params, services }) => { await services.myAssets.setFavourite(auth.user.id, params.assetId, params.systemUserId, false); },
  }),
];
