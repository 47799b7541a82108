// Every live privilege is re-checked when it changes (rule 11): disabling, locking, a role
// change, a password reset and a deleted token end live SSH sessions, live-view websockets
// and API tokens at once; tokens do not come back when a disabled user is enabled again, are
// refused while an admin's lock holds, and die with the user's own password change.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { SessionEntity, type Session } from '../core/db/entities/index.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { ApiClient, loggedIn } from './helpers/api.ts';
import { factories } from './helpers/factories.ts';
import { startSshd, sshdUnavailable, type Sshd } from './helpers/sshd.ts';
import { cleanup } from './helpers/tmp.ts';
import { eventually, openShell, ssh2Login } from './gatewayFixture.ts';

let b: Bastion;
let admin: ApiClient;
let f: ReturnType<typeof factories>;
let live: Session;
let seq = 0;

before(async () => {
  b = await startBastion();
  admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  f = factories(b.services);
  live = await f.liveSession(['{"version": 2, "width": 80, "height": 24, "timestamp": 1}', '[0.1, "o", "$ "]']);
});
after(async () => { await b.stop(); await cleanup(); });

async function auditor(): Promise<{ id: string; client: ApiClient; password: string }> {
  const password = `Auditor-pass-${++seq}-x`;
  const user = await f.user({ username: `aud${seq}`, password, role: 'auditor' });
  return { id: user.id, client: await loggedIn(b.baseUrl, user.username, password), password };
}

/**
 * The close code, or a failure after 5 s: the watch socket also re-checks on a 15 s timer,
 * and a close that only that timer brings would mean the change itself was not acted on.
 */
function closedSoon(closed: Promise<number>): Promise<number> {
  return Promise.race([closed, new Promise<number>((_r, reject) => setTimeout(() => reject(new Error('not closed by the change')), 5000).unref())]);
}

/** Opens the live view and resolves once its first screen arrived; `closed` resolves with the close code. */
function watch(headers: Record<string, string>): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${b.http!.port}/ws/sessions/${live.id}/watch`, { headers });
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.once('message', () => resolve({ ws, closed }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}

describe('live-view websockets are closed when the watcher loses the right to watch', () => {
  test('its auditor is disabled', async () => {
    const a = await auditor();
    const { closed } = await watch({ cookie: a.client.cookie! });
    assert.equal((await admin.patch(`/users/${a.id}`, { active: false })).status, 200);
    assert.equal(await closedSoon(closed), 1008);
  });

  test("its auditor's role becomes user", async () => {
    const a = await auditor();
    // A role change ends web sessions; a token shows that the role itself is re-checked.
    const token = (await a.client.post('/me/tokens', { name: 'watch' })).body.token as string;
    const { closed } = await watch({ authorization: `Bearer ${token}` });
    assert.equal((await admin.patch(`/users/${a.id}`, { role: 'user' })).status, 200);
    assert.equal(await closedSoon(closed), 1008);
  });

  test('its auditor is locked by an admin', async () => {
    const a = await auditor();
    const token = (await a.client.post('/me/tokens', { name: 'watch' })).body.token as string;
    const { closed } = await watch({ authorization: `Bearer ${token}` });
    assert.equal((await admin.post(`/users/${a.id}/lock`)).status, 200);
    assert.equal(await closedSoon(closed), 1008);
  });

  test('the token it was opened with is deleted', async () => {
    const a = await auditor();
    const created = (await a.client.post('/me/tokens', { name: 'watch' })).body as { id: string; token: string };
    const { closed } = await watch({ authorization: `Bearer ${created.token}` });
    assert.equal((await a.client.delete(`/me/tokens/${created.id}`)).status, 204);
    assert.equal(await closedSoon(closed), 1008);
  });

  test('an unaffected watcher keeps watching', async () => {
    const a = await auditor();
    const other = await auditor();
    const { ws } = await watch({ cookie: a.client.cookie! });
    let closedEarly = false;
    ws.once('close', () => { closedEarly = true; });
    assert.equal((await admin.patch(`/users/${other.id}`, { active: false })).status, 200);
    const next = new Promise<unknown>((r) => ws.once('message', (d) => r(JSON.parse(String(d)))));
    b.services.bus.publish('session.stream', { sessionId: live.id, kind: 'o', data: 'still-here', t: 9, seq: 9 });
    assert.deepEqual(await next, { type: 'output', data: 'still-here' });
    assert.equal(closedEarly, false);
    ws.close();
  });
});

describe('API tokens', () => {
  async function userWithToken(): Promise<{ id: string; username: string; token: string; password: string }> {
    const password = `Token-user-pass-${++seq}`;
    const user = await f.user({ username: `tok${seq}`, password });
    const c = await loggedIn(b.baseUrl, user.username, password);
    const token = (await c.post('/me/tokens', { name: 'ci' })).body.token as string;
    return { id: user.id, username: user.username, token, password };
  }
  const me = (token: string) => { const c = new ApiClient(b.baseUrl); c.token = token; return c.get('/me'); };

  test('are dead after an admin resets the password', async () => {
    const u = await userWithToken();
    assert.equal((await me(u.token)).status, 200);
    assert.equal((await admin.patch(`/users/${u.id}`, { password: 'Reset-by-admin-pass-9' })).status, 200);
    assert.equal((await me(u.token)).status, 401);
  });

  test('are dead after a recovery reset (bastion reset-password)', async () => {
    const u = await userWithToken();
    await b.services.users.resetPassword({ ...SYSTEM_ACTOR, username: 'cli' }, u.username);
    assert.equal((await me(u.token)).status, 401);
  });

  test("are dead after the user's own password change, and the other web sessions end", async () => {
    const u = await userWithToken();
    const here = await loggedIn(b.baseUrl, u.username, u.password);
    const elsewhere = await loggedIn(b.baseUrl, u.username, u.password);
    assert.equal((await me(u.token)).status, 200);
    assert.equal((await here.post('/auth/password', { oldPassword: u.password, newPassword: `${u.password}-changed` })).status, 204);
    assert.equal((await me(u.token)).status, 401);
    assert.equal((await elsewhere.get('/me')).status, 401);
    assert.equal((await here.get('/me')).status, 200);
  });

  test("are refused while an admin's lock holds, and work again once it is lifted", async () => {
    const u = await userWithToken();
    assert.equal((await me(u.token)).status, 200);
    assert.equal((await admin.post(`/users/${u.id}/lock`)).status, 200);
    assert.equal((await me(u.token)).status, 401);
    assert.equal((await admin.post(`/users/${u.id}/unlock`)).status, 200);
    assert.equal((await me(u.token)).status, 200);
  });

  test('do not come back when a disabled user is enabled again', async () => {
    const u = await userWithToken();
    assert.equal((await admin.patch(`/users/${u.id}`, { active: false })).status, 200);
    assert.equal((await me(u.token)).status, 401);
    assert.equal((await admin.patch(`/users/${u.id}`, { active: true })).status, 200);
    assert.equal((await me(u.token)).status, 401);
    assert.equal((await admin.get(`/audit/operations?limit=5`)).status, 200);
  });

  test('cannot be created already expired', async () => {
    const u = await userWithToken();
    const c = new ApiClient(b.baseUrl);
    c.token = u.token;
    const past = await c.post('/me/tokens', { name: 'old', expiresAt: new Date(Date.now() - 60_000).toISOString() });
    assert.equal(past.status, 400);
    assert.equal(past.body.error.details.field, 'expiresAt');
    const future = await c.post('/me/tokens', { name: 'new', expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    assert.equal(future.status, 201);
  });
});

// Both topologies: under `npm start` the API is the primary and the sessions live in gateway
// worker processes, so the revocation reaches them over the bus only.
for (const gateway of [true, 'workers'] as const) describe(`live SSH sessions${gateway === 'workers' ? ' in gateway worker processes' : ''}`, { skip: sshdUnavailable() }, () => {
  let sshd: Sshd;
  let g: Bastion;
  let gadmin: ApiClient;
  before(async () => {
    sshd = await startSshd();
    g = await startBastion({ gateway });
    gadmin = await loggedIn(g.baseUrl, 'admin', ADMIN_PASSWORD);
  });
  after(async () => {
    await g?.stop();
    await sshd?.stop();
  });

  async function operatorShell(name: string) {
    const gf = factories(g.services);
    const password = `Operator-pass-${++seq}-zz`;
    const op = await gf.user({ username: name, password });
    const asset = await gf.asset({ name: `asset-${name}`, port: sshd.port });
    const su = await gf.systemUser({ username: sshd.username, password: sshd.password });
    await gf.permission({ users: [op.id], assets: [asset.id], systemUsers: [su.id] });
    const client = await ssh2Login(g.sshPort, { username: `${name}@asset-${name}`, password });
    const screen = await openShell(client);
    await screen.send('echo ready-$((2*3))\r', 'ready-6');
    return { op, client, screen };
  }

  test("an admin's lock ends the user's live SSH session at once", async () => {
    const { op, client, screen } = await operatorShell('lockme');
    try {
      assert.equal((await gadmin.post(`/users/${op.id}/lock`)).status, 200);
      await screen.waitFor('session ended: your account has been locked by an administrator');
      await screen.whenClosed();
    } finally {
      client.end();
    }
    const row = await eventually(() => g.services.ds.getRepository(SessionEntity).findOneBy({ userId: op.id }), (r) => r?.status !== 'active');
    assert.equal(row!.status, 'terminated');
  });

  test("an admin's role change ends the user's live SSH session", async () => {
    const { op, client, screen } = await operatorShell('roleme');
    try {
      assert.equal((await gadmin.patch(`/users/${op.id}`, { role: 'auditor' })).status, 200);
      await screen.waitFor('session ended: your role has been changed by an administrator');
      await screen.whenClosed();
    } finally {
      client.end();
    }
  });

  test("an admin's password reset ends the user's live SSH session", async () => {
    const { op, client, screen } = await operatorShell('resetme');
    try {
      assert.equal((await gadmin.patch(`/users/${op.id}`, { password: 'Fresh-reset-pass-77' })).status, 200);
      await screen.waitFor('session ended: your password has been reset by an administrator');
      await screen.whenClosed();
    } finally {
      client.end();
    }
  });
});
