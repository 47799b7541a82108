// `bastion server` and `bastion gateway` as separate processes on one PostgreSQL (DESIGN: the
// deployment for more than one machine), each started from the real CLI, the gateway with
// two workers. Live-session control crosses processes over PostgreSQL LISTEN/NOTIFY: an
// admin's terminate and a disabled user (rule 11) reach the gateway at once; a web server
// starting leaves the gateway's live sessions alone; a gateway that dies has its sessions
// closed as interrupted by the web server once their heartbeat stops. A web terminal's session
// lives in the web server's process, and another process watches and terminates it over the bus.
// Recordings go to S3 (s3rver on loopback): a live view on the web server starts from the screen
// the gateway worker holds, and an upload a killed gateway left is completed by the web server.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execa, type ResultPromise } from 'execa';
import { startPostgres, type Postgres } from './helpers/postgres.ts';
import { startSshd, sshdUnavailable, type Sshd } from './helpers/sshd.ts';
import { freePort } from './helpers/ports.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { ADMIN_PASSWORD } from './helpers/bastion.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { eventually, openShell, ssh2Login, type Screen, AUTH_REFUSED } from './gatewayFixture.ts';
import { PostgresBusPeer, splitText } from '../core/busPostgres.ts';
import { createLogger } from '../core/logger.ts';
import type { BusMessages, Envelope } from '../core/bus.ts';
import { WebTerminal } from './helpers/webTerminal.ts';
import { startS3rver, type S3rverHandle } from './helpers/s3rver.ts';
import { openWatch, screenText } from './helpers/liveWatch.ts';
import { productArgs } from './helpers/productCommand.ts';

const OPERATOR = { username: 'petra', password: 'Stone-bridge-3141' };

interface Face {
  child: ResultPromise;
  output: () => string;
}

let pg: Postgres | null = null;
let sshd: Sshd | null = null;
let skip: string | undefined = sshdUnavailable();
let env: Record<string, string> = {};
let httpPort = 0;
let sshPort = 0;
let server: Face | null = null;
let gateway: Face | null = null;
let admin: ApiClient;
let operatorId = '';
let s3: S3rverHandle | null = null;

/** Starts one face of the CLI and waits for its welcome lines. */
async function startFace(command: 'server' | 'gateway'): Promise<Face> {
  const child = execa(process.execPath, productArgs(command), {
    env, extendEnv: false, reject: false, all: true, cwd: process.cwd(), timeout: 600_000, detached: true,
  });
  let out = '';
  let exited = false;
  child.all!.on('data', (d: Buffer) => { out += d.toString(); });
  void child.then(() => { exited = true; });
  for (let i = 0; i < 2400 && !exited && !out.includes('Bastion is running'); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(out.includes('Bastion is running'), `${command} did not start:\n${out.slice(0, 3000)}`);
  return { child, output: () => out };
}

/** Stops a face: SIGTERM (clean), or SIGKILL to the whole process group (a crash, workers included). */
async function stopFace(face: Face | null, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (!face || face.child.exitCode !== null || face.child.signalCode !== null) return;
  try {
    if (signal === 'SIGKILL' && face.child.pid) process.kill(-face.child.pid, 'SIGKILL');
    else face.child.kill(signal);
  } catch {
    // Gone already.
  }
  await face.child;
}

async function operatorShell(): Promise<{ client: Awaited<ReturnType<typeof ssh2Login>>; screen: Screen; sessionId: string }> {
  const client = await ssh2Login(sshPort, { username: `${OPERATOR.username}@web01`, password: OPERATOR.password });
  const screen = await openShell(client);
  await screen.send('echo split-$((6*7))\n', 'split-42');
  const active = await eventually(() => admin.get(`/sessions?active=true&user=${OPERATOR.username}`), (r) => r.body.items?.length === 1);
  return { client, screen, sessionId: active.body.items[0].id as string };
}

describe('bastion server and bastion gateway as separate processes on PostgreSQL', () => {
  before(async () => {
    if (skip) return;
    const started = await startPostgres();
    if ('skip' in started) {
      skip = started.skip;
      return;
    }
    pg = started;
    sshd = await startSshd();
    s3 = await startS3rver();
    [httpPort, sshPort] = [await freePort(), await freePort()];
    env = {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root',
      // One data dir: both faces on one host share secret.key and the gateway's host key.
      BASTION_DATA_DIR: makeTempDir('bastion-split-'), DATABASE_URL: pg.url, BASTION_ADMIN_PASSWORD: ADMIN_PASSWORD,
      BASTION_BIND: '127.0.0.1', BASTION_HTTP_PORT: String(httpPort), BASTION_SSH_PORT: String(sshPort),
      BASTION_LOG_LEVEL: 'warn', BASTION_LOG_FORMAT: 'pretty', BASTION_GATEWAY_WORKERS: '2', BASTION_SESSION_HEARTBEAT_SECONDS: '1',
      ...s3.env('split'),
    };
    // Both at once: migrations and the first admin are taken in turns (an advisory lock).
    [gateway, server] = await Promise.all([startFace('gateway'), startFace('server')]);
    admin = await loggedIn(`http://127.0.0.1:${httpPort}`, 'admin', ADMIN_PASSWORD);
    const user = await admin.post('/users', { ...OPERATOR, role: 'user', mustChangePassword: false });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    operatorId = user.body.id;
    const asset = await admin.post('/assets', { name: 'web01', address: sshd.host, port: sshd.port });
    const su = await admin.post('/system-users', { name: 'app', username: sshd.username, password: sshd.password });
    const perm = await admin.post('/permissions', { name: 'petra-web01', users: [operatorId], assets: [asset.body.id], systemUsers: [su.body.id], actions: ['connect'] });
    assert.equal(perm.status, 201, JSON.stringify(perm.body));
  });

  after(async () => {
    await stopFace(server, 'SIGTERM');
    await stopFace(gateway, 'SIGKILL');
    await sshd?.stop();
    await s3?.stop();
    await pg?.stop();
    await cleanup();
  });

  test('an admin terminates, on the web server, a session that runs on the gateway', async (t) => {
    if (skip) return t.skip(skip);
    const { client, screen, sessionId } = await operatorShell();
    try {
      const r = await admin.post(`/sessions/${sessionId}/terminate`);
      assert.equal(r.status, 202, JSON.stringify(r.body));
      await screen.whenClosed(5000);
      assert.match(screen.text, /session ended.*admin/);
      const row = await eventually(() => admin.get(`/sessions/${sessionId}`), (x) => x.body.status !== 'active');
      assert.equal(row.body.status, 'terminated');
      assert.equal(row.body.terminatedBy, 'admin');
    } finally {
      client.end();
    }
  });

  test('rule 11 across processes: disabling the user on the web server ends their shell on the gateway', async (t) => {
    if (skip) return t.skip(skip);
    const { client, screen, sessionId } = await operatorShell();
    try {
      assert.equal((await admin.patch(`/users/${operatorId}`, { active: false })).status, 200);
      // Not any disconnect: the gateway's own words, then the end of the channel, then the row.
      // Two paths may get there first, each with its own words: the disable itself (user.revoked
      // on the bus) or the re-check of the session's grant (access changed).
      const said = /\[bastion\] session ended: (your account has been disabled|your access to web01 as \S+ has been revoked or has expired)/;
      const words = said.exec(await screen.waitFor(said))![1]!;
      await screen.whenClosed(5000);
      const row = await eventually(() => admin.get(`/sessions/${sessionId}`), (x) => x.body.status !== 'active');
      assert.equal(row.body.status, 'terminated');
      assert.equal(row.body.endReason, words, 'the row says what the operator was told');
      assert.equal(row.body.terminatedBy, words.startsWith('your account') ? 'admin' : 'access');
      // And the disabled user cannot come back in.
      await assert.rejects(ssh2Login(sshPort, { username: `${OPERATOR.username}@web01`, password: OPERATOR.password }), AUTH_REFUSED);
    } finally {
      client.end();
      assert.equal((await admin.patch(`/users/${operatorId}`, { active: true })).status, 200);
    }
  });

  test("an admin's lock on the web server ends the user's shell on the gateway at once (user.revoked over the bus)", async (t) => {
    if (skip) return t.skip(skip);
    const { client, screen, sessionId } = await operatorShell();
    try {
      assert.equal((await admin.post(`/users/${operatorId}/lock`)).status, 200);
      await screen.waitFor(/\[bastion\] session ended: your account has been locked by an administrator/);
      await screen.whenClosed(5000);
      const row = await eventually(() => admin.get(`/sessions/${sessionId}`), (x) => x.body.status !== 'active');
      assert.equal(row.body.status, 'terminated');
      assert.equal(row.body.terminatedBy, 'admin');
    } finally {
      client.end();
      assert.equal((await admin.post(`/users/${operatorId}/unlock`)).status, 200);
    }
  });

  test('bus messages larger than a NOTIFY payload arrive whole, in order, and only at the other processes', async (t) => {
    if (skip || !pg) return t.skip(skip ?? 'no PostgreSQL');
    const log = createLogger('silent');
    const [a, b] = [await PostgresBusPeer.connect(pg.url, log), await PostgresBusPeer.connect(pg.url, log)];
    try {
      const heard: { a: Envelope[]; b: Envelope[] } = { a: [], b: [] };
      // The running server and gateway share the channel (a session ending from the test before
      // may still be announced), so only this test's own messages count.
      const ours = (m: unknown): m is Envelope => (m as { message?: { sessionId?: string } }).message?.sessionId === 'bus-test-s1';
      a.on('message', (m) => ours(m) && heard.a.push(m));
      b.on('message', (m) => ours(m) && heard.b.push(m));
      // 100 KB of terminal output with 4-byte characters on every possible cut.
      const data = 'x😀é\u001b[31m'.repeat(10_000);
      const big: Envelope = { __bastionBus: true, topic: 'session.stream', message: { sessionId: 'bus-test-s1', kind: 'o', data, t: 1 } };
      const small: Envelope = { __bastionBus: true, topic: 'session.terminate', message: { sessionId: 'bus-test-s1', by: 'admin', reason: 'done' } };
      a.send(big);
      a.send(small);
      await eventually(async () => heard.b.length, (n) => n === 2, 10_000);
      assert.deepEqual(heard.b, [big, small]);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(heard.a, [], 'a process does not hear its own messages back');
    } finally {
      await a.close();
      await b.close();
    }
    for (const part of splitText('a😀'.repeat(5000), 2400)) assert.ok(Buffer.byteLength(part) < 8000 && !/[\ud800-\udbff]$/.test(part));
  });

  test("a web terminal's session lives in the web server: another process watches it and terminates it over PostgreSQL", async (t) => {
    if (skip || !pg) return t.skip(skip ?? 'no PostgreSQL');
    const base = `http://127.0.0.1:${httpPort}`;
    const op = await loggedIn(base, OPERATOR.username, OPERATOR.password);
    const term = await WebTerminal.open(base, op.cookie!, { asset: 'web01' });
    // Another process on the same database: what a second web server does for its admin.
    const other = await PostgresBusPeer.connect(pg.url, createLogger('silent'));
    try {
      await term.waitFor(/\$ $/);
      const { id: sessionId } = await term.control('session');
      const row = await admin.get(`/sessions/${sessionId}`);
      assert.equal(row.body.channel, 'web');
      const seen: string[] = [];
      other.on('message', (m) => {
        const e = m as Envelope;
        const msg = e.message as BusMessages['session.stream'];
        if (e.topic === 'session.stream' && msg.sessionId === sessionId && msg.kind === 'o') seen.push(msg.data);
      });
      const watch: BusMessages['session.watch'] = { sessionId, watchId: 'split-web-watch', on: true, keystrokes: false, leaseMs: 30_000 };
      other.send({ __bastionBus: true, topic: 'session.watch', message: watch });
      // The lease travels asynchronously: type until the watcher hears the output.
      await eventually(async () => {
        await term.send('echo cross-$((5*5))\r', 'cross-25');
        return seen.join('');
      }, (text) => text.includes('cross-25'), 15_000);
      assert.match(seen.join(''), /cross-25/);
      const terminate: BusMessages['session.terminate'] = { sessionId, by: 'admin', reason: 'terminated by admin' };
      other.send({ __bastionBus: true, topic: 'session.terminate', message: terminate });
      await term.waitFor('session ended: terminated by admin');
      assert.equal((await term.control('exit')).reason, 'terminated by admin');
      const ended = await eventually(() => admin.get(`/sessions/${sessionId}`), (x) => x.body.status !== 'active');
      assert.equal(ended.body.status, 'terminated');
      assert.equal(ended.body.terminatedBy, 'admin');
    } finally {
      term.ws.close(1000);
      await other.close();
    }
  });

  test('live view on the web server of a shell on a gateway worker, recorded to S3: the current screen first, then what follows', async (t) => {
    if (skip) return t.skip(skip);
    const { client, screen, sessionId } = await operatorShell();
    try {
      await screen.send('printf "SCREEN-%s\\n" $((6*7)); tput cup 10 30; printf MIDDLE\n', 'MIDDLE');
      const watch = await openWatch(`http://127.0.0.1:${httpPort}`, sessionId, admin.cookie!);
      try {
        const init = await watch.next();
        assert.equal(init.type, 'init');
        const shown = await screenText(init);
        assert.ok(shown.some((l) => l.startsWith('SCREEN-42')), shown.join('\n'));
        assert.ok(shown.some((l) => l.includes('split-42')), 'what the session printed first');
        await screen.send('echo next-$((7*7))\n', 'next-49');
        await watch.until((out) => out.includes('next-49'));
      } finally {
        watch.close();
      }
    } finally {
      client.end();
    }
  });

  test('a web server restarting leaves the live sessions alone; a gateway that dies has them closed as interrupted', async (t) => {
    if (skip) return t.skip(skip);
    const { client, screen, sessionId } = await operatorShell();
    try {
      await stopFace(server, 'SIGTERM');
      server = await startFace('server');
      admin = await loggedIn(`http://127.0.0.1:${httpPort}`, 'admin', ADMIN_PASSWORD);
      // Well past three heartbeat periods: still active, still working.
      await new Promise((r) => setTimeout(r, 4000));
      assert.equal((await admin.get(`/sessions/${sessionId}`)).body.status, 'active');
      await screen.send('echo still-$((40+2))\n', 'still-42');

      await stopFace(gateway, 'SIGKILL');
      const row = await eventually(() => admin.get(`/sessions/${sessionId}`), (x) => x.body.status !== 'active', 15_000);
      assert.equal(row.body.status, 'interrupted');
      assert.match(row.body.endReason, /gateway stopped/);
      // Its recording lost its end with the gateway: the row says so. Under one part, nothing of it had reached the bucket.
      assert.equal(row.body.recordingIncomplete, true);
      await eventually(async () => (await admin.get('/sessions/' + sessionId + '/recording')).status, (st) => st === 404);
    } finally {
      client.end();
    }
  });
});
