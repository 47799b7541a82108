// The role matrix (rule 6, DESIGN "HTTP API"): every route of the app that createApp builds,
// read from express's own router stack, × no auth / a forged token / user / auditor / admin /
// an admin who must change the password first / a user's and an auditor's API token. Each route has a declared policy here; a route the table lacks
// fails the test (deny by default), so a new route cannot be forgotten. Every cell asserts the
// exact status; a refused cell sends a request that would succeed for an allowed role and
// asserts that no row of the database changed. The websocket upgrades get the same matrix.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Express } from 'express';
import WebSocket from 'ws';
import { createApp } from '../server/app.ts';
import { CastWriter } from '../gateway/recording/castWriter.ts';
import { currentTotp } from '../core/identity/totp.ts';
import { previousStepTotp } from './helpers/totp.ts';
import type { Actor } from '../core/actor.ts';
import type { Role, User } from '../core/db/entities/index.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { ApiClient, loggedIn } from './helpers/api.ts';
import { factories } from './helpers/factories.ts';
import { keygen } from './helpers/keys.ts';
import { freePort } from './helpers/ports.ts';
import { cleanup } from './helpers/tmp.ts';
import { dbState as snapshotDb } from './helpers/dbState.ts';

type Policy = 'public' | 'self' | 'audit' | 'manage';
/**
 * Who calls: nobody, each role (browser cookie), an admin who must change the password first,
 * a user and an auditor with an API token (Bearer) instead of a cookie, and a forged token.
 */
type Caller = 'none' | 'forged' | 'user' | 'auditor' | 'admin' | 'pwchange' | 'userToken' | 'auditorToken';
type Anonymous = 'none' | 'forged';
const CALLERS: Caller[] = ['none', 'forged', 'user', 'auditor', 'admin', 'pwchange', 'userToken', 'auditorToken'];
const ROLE_OF: Record<Exclude<Caller, Anonymous>, Role> = { user: 'user', auditor: 'auditor', admin: 'admin', pwchange: 'admin', userToken: 'user', auditorToken: 'auditor' };
const ALLOWED: Record<Exclude<Policy, 'public'>, Caller[]> = {
  self: ['user', 'auditor', 'admin', 'userToken', 'auditorToken'],
  audit: ['auditor', 'admin', 'auditorToken'],
  manage: ['admin'],
};
const FORGED_TOKEN = 'bst_forged-forged-forged-forged-forged-forged';

interface Me { id: string; username: string; password: string; actor: Actor; client: ApiClient }
interface Call { path: string; body?: unknown }

interface Rule {
  policy: Policy;
  /** The status of the call for a caller the policy allows. */
  ok: number;
  /** Allowed while the password must still be changed. */
  duringPasswordChange?: boolean;
  /** The caller is a fresh user of the role for this one call (the call changes the caller). */
  ownUser?: boolean;
  /** A call that succeeds for an allowed caller; its rows are made fresh for every cell. */
  call: (me: Me | null) => Promise<Call>;
}

const UNKNOWN = '5f0e3c4a-9b1d-4e2f-8a7c-6d5e4f3a2b1c';

let b: Bastion;
let f: ReturnType<typeof factories>;
let app: Express;
const callers = new Map<Caller, Me>();
let seq = 0;
const uniq = (p: string) => `${p}-${++seq}`;

// ---- rows made fresh for each cell ----------------------------------------------------------

const mk = {
  user: (role: Role = 'user') => f.user({ username: uniq('mx'), role }),
  group: async () => f.group({ users: [(await mk.user()).id] }),
  node: () => f.node({ name: uniq('node') }),
  // A closed loopback port: connectivity tests and fact gathering fail at once.
  asset: async () => f.asset({ name: uniq('asset'), port: closedPort }),
  systemUser: () => f.systemUser({ name: uniq('su'), username: 'deploy', password: 'Su-secret-1' }),
  adminUser: () => b.services.adminUsers.create(SYSTEM(), { name: uniq('au'), username: 'root', password: 'Au-secret-1' }),
  permission: async () => f.permission({ users: [(await mk.user()).id], assets: [(await mk.asset()).id], systemUsers: [(await mk.systemUser()).id] }),
  filter: () => b.services.commandFilters.create(SYSTEM(), { name: uniq('filter'), pattern: 'rm -rf /', kind: 'commands', action: 'deny' }),
  key: (userId: string) => b.services.userKeys.add(SYSTEM(), userId, { publicKey: keygen('ed25519').publicKey }),
  token: async (userId: string) => (await b.services.apiTokens.create(SYSTEM(), userId, { name: uniq('token') })).record,
  async pinnedAsset() {
    const a = await mk.asset();
    const blob = Buffer.from(keygen('ed25519').publicKey.split(' ')[1]!, 'base64');
    const v = await b.services.hostKeys.check(a.id, blob);
    assert.equal(v.ok, true);
    return a;
  },
  /** A session row with a real recording, as the gateway leaves it. */
  async session(active = false) {
    const u = await mk.user();
    const a = await mk.asset();
    const s = await b.services.sessions.start({ userId: u.id, username: u.username, assetId: a.id, assetName: a.name, systemUserId: null, systemUsername: 'deploy', kind: 'shell', clientAddress: '127.0.0.1' });
    const cast = CastWriter.open(b.services.recordings, s.id, s.startedAt, { cols: 80, rows: 24 }, { title: 'matrix' });
    cast.output(Buffer.from('deploy@web:~$ uptime\r\n up 1 day\r\n'));
    await cast.close();
    await b.services.sessions.setRecording(s.id, cast.relativePath);
    await b.services.sessions.addCommand(s, { input: 'uptime', output: 'up 1 day', offsetMs: 10, at: new Date() });
    await b.services.sessions.flushCommands();
    if (!active) await b.services.sessions.end(s.id, { status: 'closed', bytesIn: 1, bytesOut: 30, exitStatus: 0 });
    return s;
  },
  /** A job that runs until it is cancelled, started by `actor`; returned once its row says running. */
  async job(actor: Actor) {
    const job = await b.services.jobs.start(actor, 'command', { command: 'matrix' }, [{ id: UNKNOWN, name: 'nowhere' }],
      (_t, signal) => new Promise((resolve) => {
        signal.addEventListener('abort', () => resolve({ ok: false, exitCode: null, output: 'canceled' }), { once: true });
      }), 'matrix');
    for (let i = 0; i < 100 && (await b.services.jobs.get(job.id)).status !== 'running'; i++) await new Promise((r) => setTimeout(r, 20));
    return job;
  },
};

/** A command job of `me` that failed on an asset `me` may run commands on: retrying it is allowed. */
async function failedJob(me: Me | null) {
  const a = await mk.asset();
  const su = await mk.systemUser();
  await f.permission({ users: [me?.id ?? (await mk.user()).id], assets: [a.id], systemUsers: [su.id] });
  const job = await b.services.jobs.start(actorOf(me), 'command', { command: 'true', systemUser: su.id, assets: [a.id] }, [{ id: a.id, name: a.name }],
    async () => ({ ok: false, exitCode: null, output: 'down' }), 'matrix');
  await b.services.jobs.settled(job.id);
  return job;
}

/** A saved command on an asset that `me` (when given) may run commands on. */
async function savedCommand(me: Me | null = null) {
  const a = await mk.asset();
  const su = await mk.systemUser();
  if (me) await f.permission({ users: [me.id], assets: [a.id], systemUsers: [su.id] });
  return b.services.savedCommands.create(SYSTEM(), { name: uniq('saved'), command: 'true', systemUser: su.id, assets: [a.id] });
}

let closedPort = 1;
const SYSTEM = (): Actor => ({ id: callers.get('admin')!.id, username: 'admin', role: 'admin', clientAddress: '127.0.0.1' });
const actorOf = (me: Me | null): Actor => me?.actor ?? SYSTEM();
/** The caller (or a fresh user) with MFA on; returns the password to re-enter. */
async function withMfa(me: Me | null): Promise<string> {
  const id = me?.id ?? (await mk.user()).id;
  const { secret } = await b.services.totp.start(id);
  await b.services.totp.confirm(SYSTEM(), id, await previousStepTotp(secret));
  return me?.password ?? 'Some-pass-1234';
}
const idOf = async (p: Promise<{ id: string }>) => (await p).id;

// ---- the policy: every route, what it requires and a call that works ------------------------

const crud = (base: string, make: () => Promise<{ id: string }>, create: () => Promise<unknown>, patch: Record<string, unknown>): Record<string, Rule> => ({
  [`GET ${base}`]: { policy: 'manage', ok: 200, call: async () => ({ path: base }) },
  [`POST ${base}`]: { policy: 'manage', ok: 201, call: async () => ({ path: base, body: await create() }) },
  [`GET ${base}/:id`]: { policy: 'manage', ok: 200, call: async () => ({ path: `${base}/${await idOf(make())}` }) },
  [`PATCH ${base}/:id`]: { policy: 'manage', ok: 200, call: async () => ({ path: `${base}/${await idOf(make())}`, body: patch }) },
  [`DELETE ${base}/:id`]: { policy: 'manage', ok: 204, call: async () => ({ path: `${base}/${await idOf(make())}` }) },
});

const POLICY: Record<string, Rule> = {
  'GET /health': { policy: 'public', ok: 200, call: async () => ({ path: '/health' }) },
  'GET /openapi.json': { policy: 'public', ok: 200, call: async () => ({ path: '/openapi.json' }) },
  'POST /auth/login': {
    policy: 'public', ok: 200,
    call: async () => { const u = await f.user({ username: uniq('login'), password: 'Login-pass-1234' }); return { path: '/auth/login', body: { username: u.username, password: 'Login-pass-1234' } }; },
  },
  'POST /auth/logout': { policy: 'public', ok: 204, ownUser: true, call: async () => ({ path: '/auth/logout' }) },
  'POST /auth/password': {
    policy: 'self', ok: 204, ownUser: true, duringPasswordChange: true,
    call: async (me) => ({ path: '/auth/password', body: { oldPassword: me?.password ?? 'Some-pass-1234', newPassword: 'Changed-pass-98765' } }),
  },
  'GET /me': { policy: 'self', ok: 200, duringPasswordChange: true, call: async () => ({ path: '/me' }) },
  'GET /me/keys': { policy: 'self', ok: 200, call: async () => ({ path: '/me/keys' }) },
  'POST /me/keys': { policy: 'self', ok: 201, call: async () => ({ path: '/me/keys', body: { publicKey: keygen('ed25519').publicKey } }) },
  'DELETE /me/keys/:id': { policy: 'self', ok: 204, call: async (me) => ({ path: `/me/keys/${(await mk.key(me?.id ?? (await mk.user()).id)).id}` }) },
  'GET /me/tokens': { policy: 'self', ok: 200, call: async () => ({ path: '/me/tokens' }) },
  'POST /me/tokens': { policy: 'self', ok: 201, call: async () => ({ path: '/me/tokens', body: { name: uniq('tok') } }) },
  'DELETE /me/tokens/:id': { policy: 'self', ok: 204, call: async (me) => ({ path: `/me/tokens/${(await mk.token(me?.id ?? (await mk.user()).id)).id}` }) },
  'POST /me/totp': { policy: 'self', ok: 201, ownUser: true, call: async () => ({ path: '/me/totp' }) },
  'POST /me/totp/confirm': {
    policy: 'self', ok: 200, ownUser: true,
    call: async (me) => {
      const { secret } = await b.services.totp.start(me?.id ?? (await mk.user()).id);
      return { path: '/me/totp/confirm', body: { code: currentTotp(secret) } };
    },
  },
  'GET /me/assets': { policy: 'self', ok: 200, call: async () => ({ path: '/me/assets' }) },
  'GET /me/targets': { policy: 'self', ok: 200, call: async () => ({ path: '/me/targets' }) },
  // Nothing is granted to the callers: a favourite is refused by core/access; removing one that is not there is fine.
  'PUT /me/favourites/:assetId/:systemUserId': { policy: 'self', ok: 403, call: async () => ({ path: `/me/favourites/${UNKNOWN}/${UNKNOWN}`, body: {} }) },
  'DELETE /me/favourites/:assetId/:systemUserId': { policy: 'self', ok: 204, call: async () => ({ path: `/me/favourites/${UNKNOWN}/${UNKNOWN}` }) },
  // Allowed callers reach the handler, where core/access says no asset 'web01' is granted to them (403 for every role).
  'GET /me/files': { policy: 'self', ok: 403, call: async () => ({ path: '/me/files?asset=web01' }) },
  'GET /me/files/download': { policy: 'self', ok: 403, call: async () => ({ path: '/me/files/download?asset=web01&path=/etc/hostname' }) },
  // A JSON body: allowed callers are told the upload body must be application/octet-stream.
  'PUT /me/files/upload': { policy: 'self', ok: 415, call: async () => ({ path: '/me/files/upload?asset=web01&path=/tmp/x', body: {} }) },
  'POST /me/files/mkdir': { policy: 'self', ok: 403, call: async () => ({ path: '/me/files/mkdir', body: { asset: 'web01', path: '/tmp/x' } }) },
  'POST /me/files/rename': { policy: 'self', ok: 403, call: async () => ({ path: '/me/files/rename', body: { asset: 'web01', from: '/tmp/x', to: '/tmp/y' } }) },
  'DELETE /me/files': { policy: 'self', ok: 403, call: async () => ({ path: '/me/files?asset=web01&path=/tmp/x' }) },
  'GET /me/mfa': { policy: 'self', ok: 200, call: async () => ({ path: '/me/mfa' }) },
  'POST /me/totp/disable': { policy: 'self', ok: 204, ownUser: true, call: async (me) => ({ path: '/me/totp/disable', body: { password: await withMfa(me) } }) },
  'POST /me/totp/recovery-codes': { policy: 'self', ok: 200, ownUser: true, call: async (me) => ({ path: '/me/totp/recovery-codes', body: { password: await withMfa(me) } }) },
  'GET /auth/password-policy': { policy: 'public', ok: 200, call: async () => ({ path: '/auth/password-policy' }) },
  'GET /mfa-policy': { policy: 'manage', ok: 200, call: async () => ({ path: '/mfa-policy' }) },
  'PATCH /mfa-policy': { policy: 'manage', ok: 200, call: async () => ({ path: '/mfa-policy', body: { user: false } }) },

  ...crud('/users', () => mk.user(), async () => ({ username: uniq('new') }), { name: 'Renamed' }),
  'POST /users/:id/lock': { policy: 'manage', ok: 200, call: async () => ({ path: `/users/${(await mk.user()).id}/lock` }) },
  'POST /users/:id/unlock': { policy: 'manage', ok: 200, call: async () => ({ path: `/users/${(await mk.user()).id}/unlock` }) },
  'GET /login-locks': { policy: 'manage', ok: 200, call: async () => ({ path: '/login-locks' }) },
  'POST /login-locks/clear': { policy: 'manage', ok: 200, call: async () => ({ path: '/login-locks/clear', body: { username: 'nobody-locked' } }) },
  'POST /users/:id/reset-mfa': { policy: 'manage', ok: 200, call: async () => ({ path: `/users/${(await mk.user()).id}/reset-mfa` }) },
  'GET /users/:id/keys': { policy: 'manage', ok: 200, call: async () => ({ path: `/users/${(await mk.user()).id}/keys` }) },
  'POST /users/:id/keys': { policy: 'manage', ok: 201, call: async () => ({ path: `/users/${(await mk.user()).id}/keys`, body: { publicKey: keygen('ed25519').publicKey } }) },
  'DELETE /users/:id/keys/:keyId': {
    policy: 'manage', ok: 204,
    call: async () => { const u = await mk.user(); return { path: `/users/${u.id}/keys/${(await mk.key(u.id)).id}` }; },
  },
  'GET /users/:id/assets': { policy: 'manage', ok: 200, call: async () => ({ path: `/users/${(await mk.user()).id}/assets` }) },
  ...crud('/user-groups', () => mk.group(), async () => ({ name: uniq('g'), users: [(await mk.user()).id] }), { name: uniq('g2') }),
  ...crud('/nodes', () => mk.node(), async () => ({ name: uniq('n') }), { name: uniq('n2') }),
  ...crud('/assets', () => mk.asset(), async () => ({ name: uniq('a'), address: '192.0.2.1' }), { comment: 'changed' }),
  'GET /assets/:id/host-key': { policy: 'manage', ok: 200, call: async () => ({ path: `/assets/${(await mk.pinnedAsset()).id}/host-key` }) },
  'DELETE /assets/:id/host-key': { policy: 'manage', ok: 204, call: async () => ({ path: `/assets/${(await mk.pinnedAsset()).id}/host-key` }) },
  'GET /assets/:id/reachers': { policy: 'manage', ok: 200, call: async () => ({ path: `/assets/${(await mk.asset()).id}/reachers` }) },
  ...crud('/system-users', () => mk.systemUser(), async () => ({ name: uniq('su'), username: 'app', password: 'New-secret-1' }), { priority: 5 }),
  ...crud('/admin-users', () => mk.adminUser(), async () => ({ name: uniq('au'), username: 'root', password: 'New-secret-2' }), { comment: 'changed' }),
  ...crud('/permissions', () => mk.permission(), async () => ({ name: uniq('p'), users: [(await mk.user()).id], assets: [(await mk.asset()).id], actions: ['connect'] }), { active: false }),
  'GET /labels': { policy: 'manage', ok: 200, call: async () => ({ path: '/labels' }) },
  'POST /users/bulk': { policy: 'manage', ok: 200, call: async () => ({ path: '/users/bulk', body: { action: 'disable', ids: [(await mk.user()).id] } }) },
  'POST /assets/bulk': { policy: 'manage', ok: 200, call: async () => ({ path: '/assets/bulk', body: { action: 'move', ids: [(await mk.asset()).id], node: (await mk.node()).id } }) },
  'POST /system-users/bulk': { policy: 'manage', ok: 200, call: async () => ({ path: '/system-users/bulk', body: { action: 'delete', ids: [(await mk.systemUser()).id] } }) },
  'POST /permissions/bulk': { policy: 'manage', ok: 200, call: async () => ({ path: '/permissions/bulk', body: { action: 'disable', ids: [(await mk.permission()).id] } }) },
  'GET /audit/logins': { policy: 'audit', ok: 200, call: async () => ({ path: '/audit/logins' }) },
  'GET /audit/operations': { policy: 'audit', ok: 200, call: async () => ({ path: '/audit/operations' }) },
  'GET /audit/file-transfers': { policy: 'audit', ok: 200, call: async () => ({ path: '/audit/file-transfers' }) },
  'POST /assets/:id/test': { policy: 'manage', ok: 200, call: async () => ({ path: `/assets/${(await mk.asset()).id}/test`, body: {} }) },
  'POST /nodes/:id/test': { policy: 'manage', ok: 202, call: async () => ({ path: `/nodes/${(await mk.node()).id}/test` }) },
  'POST /assets/:id/facts': { policy: 'manage', ok: 202, call: async () => ({ path: `/assets/${(await mk.asset()).id}/facts` }) },
  'POST /nodes/:id/facts': {
    policy: 'manage', ok: 202,
    call: async () => { const n = await mk.node(); await f.asset({ name: uniq('fa'), port: closedPort, nodes: [n.id] }); return { path: `/nodes/${n.id}/facts` }; },
  },
  'POST /system-users/:id/push': {
    policy: 'manage', ok: 202,
    call: async () => ({ path: `/system-users/${(await mk.systemUser()).id}/push`, body: { assets: [(await mk.asset()).id] } }),
  },
  // Jobs are self-service: an operator runs commands where a permission lets them connect.
  'POST /jobs': {
    policy: 'self', ok: 202,
    call: async (me) => {
      const a = await mk.asset();
      const su = await mk.systemUser();
      await f.permission({ users: [me?.id ?? (await mk.user()).id], assets: [a.id], systemUsers: [su.id] });
      return { path: '/jobs', body: { kind: 'command', assets: [a.id], systemUser: su.id, command: 'true' } };
    },
  },
  'GET /jobs': { policy: 'self', ok: 200, call: async () => ({ path: '/jobs' }) },
  'GET /jobs/:id': { policy: 'self', ok: 200, call: async (me) => ({ path: `/jobs/${(await mk.job(actorOf(me))).id}` }) },
  'POST /jobs/:id/cancel': { policy: 'self', ok: 200, call: async (me) => ({ path: `/jobs/${(await mk.job(actorOf(me))).id}/cancel` }) },
  'POST /jobs/:id/retry': { policy: 'self', ok: 202, call: async (me) => ({ path: `/jobs/${(await failedJob(me)).id}/retry` }) },
  'GET /saved-commands': { policy: 'self', ok: 200, call: async () => ({ path: '/saved-commands' }) },
  'POST /saved-commands': { policy: 'manage', ok: 201, call: async () => ({ path: '/saved-commands', body: { name: uniq('sc'), command: 'uptime', systemUser: (await mk.systemUser()).id } }) },
  'GET /saved-commands/:id': { policy: 'self', ok: 200, call: async () => ({ path: `/saved-commands/${(await savedCommand()).id}` }) },
  'PATCH /saved-commands/:id': { policy: 'manage', ok: 200, call: async () => ({ path: `/saved-commands/${(await savedCommand()).id}`, body: { command: 'id' } }) },
  'DELETE /saved-commands/:id': { policy: 'manage', ok: 204, call: async () => ({ path: `/saved-commands/${(await savedCommand()).id}` }) },
  'POST /saved-commands/:id/run': { policy: 'self', ok: 202, call: async (me) => ({ path: `/saved-commands/${(await savedCommand(me)).id}/run` }) },
  ...crud('/command-filters', () => mk.filter(), async () => ({ name: uniq('cf'), pattern: 'shutdown', kind: 'commands', action: 'deny' }), { priority: 7 }),
  'POST /command-filters/check': {
    policy: 'manage', ok: 200,
    call: async () => ({ path: '/command-filters/check', body: { user: (await mk.user()).id, asset: (await mk.asset()).id, command: 'ls' } }),
  },
  'GET /command-confirmations': { policy: 'manage', ok: 200, call: async () => ({ path: '/command-confirmations' }) },
  // Held commands live in a gateway's memory only: with no gateway here, an allowed caller gets 404.
  'POST /command-confirmations/:id/approve': { policy: 'manage', ok: 404, call: async () => ({ path: `/command-confirmations/${UNKNOWN}/approve` }) },
  'POST /command-confirmations/:id/reject': { policy: 'manage', ok: 404, call: async () => ({ path: `/command-confirmations/${UNKNOWN}/reject` }) },
  'POST /sessions/:id/terminate': { policy: 'audit', ok: 202, call: async () => ({ path: `/sessions/${(await mk.session(true)).id}/terminate` }) },
  'GET /dashboard': { policy: 'audit', ok: 200, call: async () => ({ path: '/dashboard' }) },
  'POST /audit/retention/purge': { policy: 'manage', ok: 200, call: async () => ({ path: '/audit/retention/purge', body: { days: 36500 } }) },
  'GET /sessions': { policy: 'audit', ok: 200, call: async () => ({ path: '/sessions' }) },
  'GET /sessions/:id': { policy: 'audit', ok: 200, call: async () => ({ path: `/sessions/${(await mk.session()).id}` }) },
  'GET /sessions/:id/commands': { policy: 'audit', ok: 200, call: async () => ({ path: `/sessions/${(await mk.session()).id}/commands` }) },
  'GET /sessions/:id/transfers': { policy: 'audit', ok: 200, call: async () => ({ path: `/sessions/${(await mk.session()).id}/transfers` }) },
  'GET /sessions/:id/recording': { policy: 'audit', ok: 200, call: async () => ({ path: `/sessions/${(await mk.session()).id}/recording` }) },
  'GET /sessions/:id/recording/index': { policy: 'audit', ok: 200, call: async () => ({ path: `/sessions/${(await mk.session()).id}/recording/index` }) },
  'GET /sessions/:id/recording/segments/:n': { policy: 'audit', ok: 200, call: async () => ({ path: `/sessions/${(await mk.session()).id}/recording/segments/0` }) },
  'GET /commands': { policy: 'audit', ok: 200, call: async () => ({ path: '/commands' }) },
};

/** Websocket upgrade paths (not in express's router): the same policy, the same matrix. */
const WS_POLICY: Record<string, { policy: Policy; call: () => Promise<string> }> = {
  '/ws/sessions/:id/watch': { policy: 'audit', call: async () => `/ws/sessions/${(await mk.session(true)).id}/watch` },
};

function expected(rule: { policy: Policy; ok: number; duringPasswordChange?: boolean }, caller: Caller): number {
  if (rule.policy === 'public') return rule.ok;
  if (caller === 'none' || caller === 'forged') return 401;
  if (caller === 'pwchange') return rule.duringPasswordChange ? rule.ok : 403;
  return ALLOWED[rule.policy].includes(caller) ? rule.ok : 403;
}

// ---- the routes as express sees them -------------------------------------------------------

interface StackLayer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: StackLayer[] };
  rawPath?: string;
}

/** Every method + path the API router answers, walked from the app's router stack. */
function apiRoutes(express: Express): string[] {
  const top = (express as unknown as { router: { stack: StackLayer[] } }).router.stack;
  // The health router (/healthz, /readyz, /metrics) sits at the root, outside the API and this matrix.
  const mounted = top.filter((l) => l.handle?.stack?.some((x) => x.route) && l.rawPath === '/api/v1');
  assert.equal(mounted.length, 1, 'one API router');
  const api = mounted[0]!;
  assert.equal(api.rawPath, '/api/v1', 'the API router is mounted at /api/v1');
  const out: string[] = [];
  for (const l of api.handle!.stack!) {
    if (!l.route) continue;
    for (const m of Object.keys(l.route.methods)) if (m !== '_all') out.push(`${m.toUpperCase()} ${l.route.path}`);
  }
  return out;
}

// ---- the state that a refused call must leave alone ----------------------------------------

const dbState = (): Promise<string> => snapshotDb(b.services.ds);

async function newCaller(caller: Exclude<Caller, Anonymous>): Promise<Me> {
  const password = `Matrix-pass-${++seq}-x`;
  const u: User = await f.user({ username: uniq(caller.toLowerCase()), password, role: ROLE_OF[caller], mustChangePassword: caller === 'pwchange' });
  const client = await loggedIn(b.baseUrl, u.username, password);
  if (caller.endsWith('Token')) {
    // A script's way in: the token, no cookie.
    const created = await client.post('/me/tokens', { name: 'matrix' });
    assert.equal(created.status, 201);
    client.cookie = null;
    client.token = created.body.token as string;
  }
  return { id: u.id, username: u.username, password, client, actor: { id: u.id, username: u.username, role: ROLE_OF[caller], clientAddress: '127.0.0.1' } };
}

/** A client of its own for one call, so a Set-Cookie in the answer changes nobody else. */
function clientOf(caller: Caller, me: Me | null): ApiClient {
  const c = new ApiClient(b.baseUrl);
  c.cookie = me?.client.cookie ?? null;
  c.token = caller === 'forged' ? FORGED_TOKEN : me?.client.token ?? null;
  return c;
}

before(async () => {
  b = await startBastion();
  f = factories(b.services);
  closedPort = await freePort();
  const admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  const adminRow = (await admin.get('/me')).body as { id: string };
  callers.set('admin', { id: adminRow.id, username: 'admin', password: ADMIN_PASSWORD, client: admin, actor: { id: adminRow.id, username: 'admin', role: 'admin', clientAddress: '127.0.0.1' } });
  for (const c of ['user', 'auditor', 'pwchange', 'userToken', 'auditorToken'] as const) callers.set(c, await newCaller(c));
  app = createApp(b.services);
});
after(async () => {
  await b.services.jobs.stopAll();
  await b.stop();
  await cleanup();
});

test('every route express answers has a declared policy, and every declared policy has its route', () => {
  const live = apiRoutes(app);
  const missing = live.filter((r) => !(r in POLICY));
  assert.deepEqual(missing, [], `routes without a policy in test/api.roles.test.ts (deny by default: declare who may call them): ${missing.join(', ')}`);
  assert.deepEqual(Object.keys(POLICY).filter((r) => !live.includes(r)), [], 'policies for routes that do not exist');
  // The running server has exactly the upgrade handlers WS_POLICY knows of.
  assert.equal(b.http!.server.listeners('upgrade').length, Object.keys(WS_POLICY).length, 'an upgrade handler without a WS_POLICY entry');
});

test('every route × no auth / forged token / user / auditor / admin / pending password change / user and auditor tokens: exact status, and a refused call changes nothing', async () => {
  const failures: string[] = [];
  let cells = 0;
  for (const route of apiRoutes(app)) {
    const rule = POLICY[route];
    if (!rule) continue; // reported by the test above
    const method = route.split(' ')[0]!;
    for (const caller of CALLERS) {
      const want = expected(rule, caller);
      const me = caller === 'none' || caller === 'forged' ? null : rule.ownUser ? await newCaller(caller) : callers.get(caller)!;
      const { path, body } = await rule.call(me);
      const refused = want === 401 || want === 403;
      const stateBefore = refused ? await dbState() : '';
      const res = await clientOf(caller, me).request(method, path, body ?? (method === 'GET' || method === 'DELETE' ? undefined : {}));
      cells++;
      const where = `${route} as ${caller}`;
      if (res.status !== want) {
        failures.push(`${where}: ${res.status}, expected ${want} ${JSON.stringify(res.body).slice(0, 160)}`);
        continue;
      }
      if (!refused) continue;
      const code = want === 401 ? 'unauthenticated' : 'forbidden';
      if (res.body?.error?.code !== code) failures.push(`${where}: error code ${res.body?.error?.code}, expected ${code}`);
      if (await dbState() !== stateBefore) failures.push(`${where}: refused with ${want}, but rows changed`);
    }
    // Jobs a call started (facts, pushes, commands) end before the next route's snapshot.
    await b.services.jobs.stopAll();
  }
  assert.deepEqual(failures, []);
  assert.equal(cells, Object.keys(POLICY).length * CALLERS.length);
});

function upgrade(path: string, client: ApiClient): Promise<number> {
  const headers: Record<string, string> = {};
  if (client.cookie) headers.cookie = client.cookie;
  if (client.token) headers.authorization = `Bearer ${client.token}`;
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${b.http!.port}${path}`, { headers });
    ws.once('open', () => { ws.close(); resolve(101); });
    ws.once('unexpected-response', (_req, res) => { res.resume(); resolve(res.statusCode ?? 0); });
    ws.once('error', () => { /* the status came through unexpected-response */ });
  });
}

test('websocket upgrades × the same callers (rule 6)', async () => {
  const failures: string[] = [];
  for (const [route, rule] of Object.entries(WS_POLICY)) {
    for (const caller of CALLERS) {
      const want = expected({ policy: rule.policy, ok: 101 }, caller);
      const got = await upgrade(await rule.call(), clientOf(caller, callers.get(caller) ?? null));
      if (got !== want) failures.push(`${route} as ${caller}: ${got}, expected ${want}`);
    }
  }
  assert.deepEqual(failures, []);
});
