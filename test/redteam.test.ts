// Attacks on the surfaces added last (web terminal websocket, watch socket, logout, input
// floods), from real sockets on 127.0.0.1 against the shipped topology: the SSH gateway in
// worker processes, the HTTP server (API, websockets, web terminals) in the primary, as
// `npm start` runs them. Each test is an attack that once worked (or must keep failing).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { FileTransferEntity } from '../core/db/entities/index.ts';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { ApiClient, loggedIn } from './helpers/api.ts';
import { currentTotp } from '../core/identity/totp.ts';
import { previousStepTotp } from './helpers/totp.ts';
import { ADMIN_PASSWORD } from './helpers/bastion.ts';
import { eventually, startWorld, type World } from './gatewayFixture.ts';
import { WebTerminal, upgradeStatus, wsUpgradeStatus } from './helpers/webTerminal.ts';

const PROMPT = /\$ (\x1b\[K)?$/;

/** The HTTP status a websocket upgrade on `path` answers (101 when accepted, then closed). */
function wsStatus(baseUrl: string, path: string, headers: Record<string, string>): Promise<number> {
  return wsUpgradeStatus(`${baseUrl.replace(/^http/, 'ws')}${path}`, headers);
}

/**
 * Sends up to `total` bytes of keystrokes in 32 KiB frames, never more than 1 MiB queued in this
 * client, until all are sent or the bastion stops taking them (no progress for 2 s). Returns
 * the bytes the bastion's socket took.
 */
async function flood(ws: WebSocket, total: number): Promise<number> {
  const frame = Buffer.alloc(32 * 1024, 'a');
  let sent = 0;
  let taken = 0;
  let last = -1;
  let still = 0;
  while (taken < total && still < 10 && ws.readyState === ws.OPEN) {
    while (sent < total && ws.bufferedAmount < 1024 * 1024) {
      ws.send(frame, { binary: true }, (err) => { if (!err) taken += frame.length; });
      sent += frame.length;
    }
    await new Promise((r) => setTimeout(r, 200));
    if (taken === last) still++;
    else {
      still = 0;
      last = taken;
    }
  }
  return taken;
}

describe('attacks on the web surfaces, against gateway workers', { skip: sshdUnavailable() }, () => {
  let w: World;
  let admin: ApiClient;
  let seq = 0;
  before(async () => {
    w = await startWorld({ http: true, topology: 'workers' });
    admin = await loggedIn(w.bastion.baseUrl, 'admin', ADMIN_PASSWORD);
  });
  after(async () => { await w?.stop(); await cleanup(); });

  /** A fresh user (granted connect on web01 unless told), logged in over the API. */
  async function member(opts: { grant?: boolean; role?: 'user' | 'auditor' } = {}): Promise<{ id: string; username: string; password: string; cookie: string; api: ApiClient }> {
    const password = `Red-team-${++seq}-pass`;
    const user = await w.f.user({ username: `red${seq}`, password, role: opts.role ?? 'user' });
    if (opts.grant ?? true) await w.f.permission({ users: [user.id], assets: [w.web01.id], systemUsers: [w.su.id] });
    const api = await loggedIn(w.bastion.baseUrl, user.username, password);
    return { id: user.id, username: user.username, password, cookie: api.cookie!, api };
  }

  async function shell(cookie: string): Promise<WebTerminal> {
    const t = await WebTerminal.open(w.bastion.baseUrl, cookie, { asset: 'web01', cols: 100, rows: 30 });
    await t.waitFor(PROMPT);
    return t;
  }

  test('a session that may only enrol MFA (its role requires MFA) opens no web terminal and watches no session', async () => {
    const victim = await member();
    const live = await shell(victim.cookie);
    const { id } = await live.control('session');
    try {
      await w.bastion.services.mfaPolicy.set(SYSTEM_ACTOR, { user: true, auditor: true });
      const op = await loggedIn(w.bastion.baseUrl, victim.username, victim.password);
      const auditorUser = await w.f.user({ username: `redaud${++seq}`, password: 'Red-auditor-pass-1', role: 'auditor' });
      const auditor = await loggedIn(w.bastion.baseUrl, auditorUser.username, 'Red-auditor-pass-1');
      // The HTTP routes refuse these sessions everything but enrolment...
      assert.equal((await op.get('/me/assets')).status, 403);
      assert.equal((await auditor.get(`/sessions/${id}`)).status, 403);
      // ...and so must the websockets.
      const origin = w.bastion.baseUrl;
      assert.equal(await upgradeStatus(origin, { asset: 'web01' }, { cookie: op.cookie!, origin }), 403);
      assert.equal(await wsStatus(origin, `/ws/sessions/${id}/watch?keystrokes=1`, { cookie: auditor.cookie!, origin }), 403);
    } finally {
      await w.bastion.services.mfaPolicy.set(SYSTEM_ACTOR, { user: false, auditor: false });
      live.ws.close(1000);
    }
  });

  test('requiring MFA for a role closes the open web terminals of its members who have none, at once', async () => {
    const op = await member();
    const t = await shell(op.cookie);
    try {
      await w.bastion.services.mfaPolicy.set(SYSTEM_ACTOR, { user: true });
      // The periodic check runs every 15 s: closing within 5 s is the policy change's own doing.
      await t.closedWithin(5_000);
      assert.equal(t.closeCode, 1008);
    } finally {
      await w.bastion.services.mfaPolicy.set(SYSTEM_ACTOR, { user: false });
    }
  });

  test('logging out closes the web terminal at once, not at the next periodic check', async () => {
    const op = await member();
    const t = await shell(op.cookie);
    const { id } = await t.control('session');
    assert.equal((await op.api.post('/auth/logout')).status, 204);
    // The periodic check runs every 15 s: closing within 5 s is the logout's own doing.
    await t.closedWithin(5_000);
    assert.equal(t.closeCode, 1008);
    const row = await eventually(() => admin.get(`/sessions/${id}`), (r) => r.body.status !== 'active');
    assert.notEqual(row.body.status, 'active');
  });

  test('revoking your own tokens and logging out drop no cache: a low-privilege loop cannot make every process reload access', async () => {
    const op = await member();
    const t = await shell(op.cookie);
    const access = w.bastion.services.access;
    access.invalidate();
    const before = await access.snapshot();
    for (let i = 0; i < 3; i++) {
      const created = await op.api.post('/me/tokens', { name: `loop-${i}` });
      assert.equal(created.status, 201);
      assert.equal((await op.api.delete(`/me/tokens/${created.body.id}`)).status, 204);
    }
    assert.equal((await op.api.post('/auth/logout')).status, 204);
    // The logout still reaches the socket held on that web session...
    await t.closedWithin(5_000);
    assert.equal(t.closeCode, 1008);
    // ...without every process dropping its access snapshot (nor its filters, jobs and sessions re-checked).
    assert.equal(await access.snapshot(), before);
  });

  test('a command job tells an operator nothing of assets outside their grants: by id, label, node or system user they read alike', async () => {
    const op = await member();
    const vault = await w.f.node({ name: 'vault-room' });
    const secret = await w.f.asset({ name: 'crown-jewels', nodes: [vault.id] });
    await w.bastion.services.assets.update(SYSTEM_ACTOR, secret.id, { labels: ['env:secret'] });
    const hidden = await w.f.systemUser({ name: 'hidden-su', username: 'hidden-login' });
    const unknownId = '5f0e3c4a-9b1d-4e2f-8a7c-6d5e4f3a2b1c';
    const job = (body: object) => op.api.post('/jobs', { kind: 'command', command: 'true', systemUser: w.su.id, ...body });
    const seen = async (body: object) => {
      const r = await job(body);
      return { status: r.status, message: r.body.error?.message as string };
    };
    const jobs0 = (await admin.get('/jobs?limit=1')).body.total;
    // By id: an asset that exists and one that does not.
    assert.deepEqual(await seen({ assets: [secret.id] }), await seen({ assets: [unknownId] }));
    // By label: one that only the hidden asset carries, and one nobody carries.
    assert.deepEqual(await seen({ labels: ['env:secret'] }), await seen({ labels: ['env:nowhere'] }));
    // By node: the hidden asset's node, and a node that does not exist.
    assert.deepEqual(await seen({ nodes: [vault.id] }), await seen({ nodes: [unknownId] }));
    // By system user: one that exists (not granted to them), and one that does not.
    assert.deepEqual(await seen({ assets: [w.web01.id], systemUser: hidden.id }), await seen({ assets: [w.web01.id], systemUser: unknownId }));
    for (const body of [{ assets: [secret.id] }, { labels: ['env:secret'] }, { nodes: [vault.id] }, { assets: [w.web01.id], systemUser: hidden.id }]) {
      const r = await job(body);
      assert.ok(r.status === 400 || r.status === 403, `${JSON.stringify(body)}: ${r.status}`);
      assert.doesNotMatch(JSON.stringify(r.body), /crown-jewels|hidden-login/, `${JSON.stringify(body)} told ${JSON.stringify(r.body)}`);
    }
    assert.equal((await admin.get('/jobs?limit=1')).body.total, jobs0, 'a job was started');
  });

  test('one recovery code sent by four logins at once logs in exactly one; wrong codes count toward the lockout', async () => {
    const u = await member({ grant: false });
    const start = await u.api.post('/me/totp');
    assert.equal(start.status, 201);
    const done = await u.api.post('/me/totp/confirm', { code: await previousStepTotp(start.body.secret) });
    assert.equal(done.status, 200);
    const [code, spare] = done.body.recoveryCodes as string[];
    const logins = await Promise.all([0, 1, 2, 3].map(() => new ApiClient(w.bastion.baseUrl).login(u.username, u.password, code)));
    assert.deepEqual(logins.map((r) => r.status).sort(), [200, 401, 401, 401]);
    // Guessing codes: five wrong ones (the lockout threshold) lock the account, and then a right one is refused too.
    for (const guess of ['aaaaa-aaaaa', 'bbbbb-bbbbb', 'ccccc-ccccc', 'ddddd-ddddd', 'eeeee-eeeee']) {
      assert.equal((await new ApiClient(w.bastion.baseUrl).login(u.username, u.password, guess)).status, 401);
    }
    const locked = await new ApiClient(w.bastion.baseUrl).login(u.username, u.password, spare);
    assert.deepEqual([locked.status, locked.body.error.message], [401, 'invalid username or password']);
  });

  test('a dropped web terminal resumed after its permission was withdrawn only says so and closes; after a lock it is gone', async () => {
    const op = await member({ grant: false });
    const perm = await w.f.permission({ users: [op.id], assets: [w.web01.id], systemUsers: [w.su.id] });
    const origin = w.bastion.baseUrl;
    const t = await shell(op.cookie);
    const { resume } = await t.control('ready');
    const { id } = await t.control('session');
    t.ws.terminate();
    await t.closedWithin();
    assert.equal((await admin.patch(`/permissions/${perm.id}`, { active: false })).status, 200);
    await eventually(() => admin.get(`/sessions/${id}`), (r) => r.body.status !== 'active');
    // The token still fetches the last words the browser missed, and nothing more: the exit frame, then the close.
    const back = await WebTerminal.open(origin, op.cookie, { resume });
    const exit = await back.control('exit');
    assert.match(exit.reason ?? '', /your access to web01/);
    await back.closedWithin();
    assert.equal(await upgradeStatus(origin, { resume }, { cookie: op.cookie, origin }), 404);

    assert.equal((await admin.patch(`/permissions/${perm.id}`, { active: true })).status, 200);
    const t2 = await shell(op.cookie);
    const second = await t2.control('ready');
    const { id: id2 } = await t2.control('session');
    t2.ws.terminate();
    await t2.closedWithin();
    assert.equal((await admin.post(`/users/${op.id}/lock`)).status, 200);
    await eventually(() => admin.get(`/sessions/${id2}`), (r) => r.body.status !== 'active');
    assert.equal((await admin.post(`/users/${op.id}/unlock`)).status, 200);
    const again = await loggedIn(origin, op.username, op.password);
    assert.equal(await upgradeStatus(origin, { resume: second.resume }, { cookie: again.cookie!, origin }), 404);
  });

  test('file manager: a download without the download action is refused and recorded; two uploads racing for one new name leave one whole file', async () => {
    const remote = makeTempDir('bastion-redteam-files-');
    await execa('chown', [w.sshd.username, remote]);
    const secretFile = join(remote, 'secret.txt');
    writeFileSync(secretFile, 'not for connect-only');
    const reader = await member();
    const files = (c: string, method: string, path: string, query: Record<string, string>, body?: Buffer) => fetch(`${w.bastion.baseUrl}/api/v1${path}?${new URLSearchParams({ asset: 'web01', ...query })}`, {
      method, headers: { cookie: c, ...(body ? { 'content-type': 'application/octet-stream' } : {}) }, ...(body ? { body: new Uint8Array(body) } : {}),
    });
    const dl = await files(reader.cookie, 'GET', '/me/files/download', { path: secretFile });
    assert.equal(dl.status, 403);
    assert.equal(((await dl.json()) as { error: { message: string } }).error.message, `download ${secretFile}: download is not allowed to you on web01`);
    const rows = await w.bastion.services.ds.getRepository(FileTransferEntity).findBy({ path: secretFile });
    assert.deepEqual(rows.map((r) => [r.operation, r.ok]), [['download', false]]);

    const writer = await member({ grant: false });
    await w.f.permission({ users: [writer.id], assets: [w.web01.id], systemUsers: [w.su.id], actions: ['connect', 'upload', 'download'] });
    const target = join(remote, 'raced.bin');
    const bodies = [randomBytes(3 * 1024 * 1024), randomBytes(3 * 1024 * 1024)];
    const answers = await Promise.all(bodies.map((b) => files(writer.cookie, 'PUT', '/me/files/upload', { path: target }, b)));
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409]);
    const winner = bodies[answers.findIndex((a) => a.status === 201)]!;
    assert.ok(readFileSync(target).equals(winner), 'the file is not the winning upload, whole');
  });

  test('a frame over 64 KiB closes the socket (1009) before the bastion reads it; the shell waits for a resume and still works', async () => {
    const op = await member();
    const t = await shell(op.cookie);
    const { resume } = await t.control('ready');
    t.ws.send(Buffer.alloc(1024 * 1024, 'x'), { binary: true });
    await t.closedWithin();
    assert.equal(t.closeCode, 1009);
    const back = await WebTerminal.open(w.bastion.baseUrl, op.cookie, { resume });
    await back.control('ready');
    await back.send('echo big-$((8*8))\r', 'big-64');
    assert.doesNotMatch(back.output, /xxxxxxxx/);
    back.ws.close(1000);
  });

  test('a keystroke flood into a program that does not read is held back at the socket, not buffered in the bastion', async (ctx) => {
    const op = await member();
    const t = await shell(op.cookie);
    const { id } = await t.control('session');
    // Raw mode: the pty takes at most its buffer, then the asset's sshd stops reading the channel.
    await t.send("stty raw -echo; echo flood-$((2*4)); sleep 600\r", 'flood-8');
    const total = 48 * 1024 * 1024;
    const taken = await flood(t.ws, total);
    ctx.diagnostic(`the bastion's socket took ${taken} of ${total} bytes`);
    // Windows and kernel buffers on the way hold some megabytes; the rest must wait in the client.
    assert.ok(taken < total / 2, `the bastion took ${taken} of ${total} bytes a program never read`);
    // Terminated, the socket is read again: the exit frame arrives and the close handshake completes
    // (a socket left paused would answer the close only at ws's 30 s timeout).
    assert.equal((await admin.post(`/sessions/${id}/terminate`)).status, 202);
    await t.control('exit');
    await t.closedWithin(10_000);
  });
});
