import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { factories } from './helpers/factories.ts';
import { cleanup } from './helpers/tmp.ts';
import type { Session } from '../core/db/entities/index.ts';

let b: Bastion;
let admin: ApiClient;
let f: ReturnType<typeof factories>;
let live: Session;

before(async () => {
  b = await startBastion();
  admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  f = factories(b.services);
  live = await f.liveSession(['{"version": 2, "width": 100, "height": 30, "timestamp": 1}', '[0.1, "o", "deploy@web01:~$ "]', '[0.5, "o", "uptime\\r\\n 10:00 up 3 days\\r\\ndeploy@web01:~$ "]']);
});
after(async () => { await b.stop(); await cleanup(); });

function open(id: string, headers: Record<string, string>): Promise<{ ws: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${b.http!.port}/ws/sessions/${id}/watch`, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => resolve({ ws, status: res.statusCode }));
    ws.once('error', () => { /* reported through unexpected-response */ });
  });
}

function nextMessage(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)) as Record<string, unknown>)));
}

test('a watcher gets the current screen, then live output, then the end', async () => {
  const { ws, status } = await open(live.id, { cookie: admin.cookie! });
  assert.equal(status, undefined);
  const init = await nextMessage(ws);
  assert.equal(init.type, 'init');
  assert.equal(init.cols, 100);
  assert.match(String(init.data), /10:00 up 3 days/);
  const out = nextMessage(ws);
  b.services.bus.publish('session.stream', { sessionId: live.id, kind: 'o', data: 'live-text-42', t: 5, seq: 5 });
  assert.deepEqual(await out, { type: 'output', data: 'live-text-42' });
  const ended = nextMessage(ws);
  b.services.bus.publish('session.ended', { sessionId: live.id });
  assert.deepEqual(await ended, { type: 'ended' });
});

test('websocket upgrades are authenticated and authorized like HTTP requests (rule 6)', async () => {
  assert.equal((await open(live.id, {})).status, 401, 'no session');
  assert.equal((await open(live.id, { cookie: 'bastion_session=forged-forged-forged-forged-forged-forged-forg' })).status, 401, 'forged cookie');
  await f.user({ username: 'watcher', password: 'Plain-watch-pass-1' });
  const plain = await loggedIn(b.baseUrl, 'watcher', 'Plain-watch-pass-1');
  assert.equal((await open(live.id, { cookie: plain.cookie! })).status, 403, 'a plain user');
  assert.equal((await open(live.id, { cookie: admin.cookie!, origin: 'http://evil.example' })).status, 403, 'cross-site upgrade');
  assert.equal((await open('..%2F..%2Fetc%2Fpasswd', { cookie: admin.cookie! })).status, 400, 'not a UUID');
  assert.equal((await open('3b8f3c1e-1d2c-4e5f-8a9b-0c1d2e3f4a5b', { cookie: admin.cookie! })).status, 404);
});

// Both topologies: in production (`npm start`) the web server is the primary and the session
// lives in a gateway worker process, so watch, stream and terminate all cross the bus.
for (const gateway of [true, 'workers'] as const) test(`through the real gateway${gateway === 'workers' ? ' in worker processes' : ''}: a watcher sees what is typed in a live shell within a second, and terminate ends it`, async (t) => {
  const { startSshd, sshdUnavailable } = await import('./helpers/sshd.ts');
  if (sshdUnavailable()) { t.skip(sshdUnavailable()!); return; }
  const ssh2 = (await import('ssh2')).default;
  const sshd = await startSshd();
  const g = await startBastion({ gateway });
  try {
    const gf = factories(g.services);
    const op = await gf.user({ username: 'watched', password: 'Op-live-pass-1' });
    const asset = await gf.asset({ name: 'live01', port: sshd.port });
    const su = await gf.systemUser({ username: sshd.username, password: sshd.password });
    await gf.permission({ users: [op.id], assets: [asset.id], systemUsers: [su.id] });
    const gAdmin = await loggedIn(g.baseUrl, 'admin', ADMIN_PASSWORD);
    const client = new ssh2.Client();
    const shell = await new Promise<import('ssh2').ClientChannel>((resolve, reject) => {
      client.on('ready', () => client.shell({ term: 'xterm', cols: 80, rows: 24 }, (err, s) => (err ? reject(err) : resolve(s))))
        .on('error', reject)
        .connect({ host: '127.0.0.1', port: g.sshPort, username: 'watched@live01', password: 'Op-live-pass-1', readyTimeout: 20_000 });
    });
    let operatorSees = '';
    shell.on('data', (d: Buffer) => { operatorSees += d.toString(); });
    for (let i = 0; i < 100 && !/\$ $/.test(operatorSees.trimEnd() + ' '); i++) await new Promise((r) => setTimeout(r, 100));
    const live = (await gAdmin.get('/sessions?active=true')).body.items[0];
    assert.ok(live, 'the shell is an active session');
    const ws = new WebSocket(`ws://127.0.0.1:${g.http!.port}/ws/sessions/${live.id}/watch`, { headers: { cookie: gAdmin.cookie! } });
    let watcherSees = '';
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type: string; data?: string };
      if (m.data) watcherSees += m.data;
    });
    await new Promise((r) => ws.once('open', r));
    for (let i = 0; i < 50 && !watcherSees; i++) await new Promise((r) => setTimeout(r, 50));
    const marker = `live-${Date.now()}-marker`;
    shell.write(`echo ${marker}\r`);
    const typedAt = Date.now();
    // Within seconds, not at a periodic check: the bound leaves room for a loaded host.
    while (!watcherSees.includes(marker) && Date.now() - typedAt < 5000) await new Promise((r) => setTimeout(r, 20));
    assert.ok(watcherSees.includes(marker), `the watcher sees the typed line (waited ${Date.now() - typedAt} ms)`);
    // The shell channel closing is what ends a real `ssh` client.
    const closed = new Promise<void>((r) => shell.once('close', () => r()));
    assert.equal((await gAdmin.post(`/sessions/${live.id}/terminate`)).status, 202);
    const endedAt = Date.now();
    await closed;
    assert.ok(Date.now() - endedAt < 10_000, 'the operator connection ends within seconds');
    assert.match(operatorSees, /admin/, 'the operator is told who ended it');
    // The operator hears first; the row is closed right after.
    let row = (await gAdmin.get(`/sessions/${live.id}`)).body;
    for (let i = 0; i < 50 && row.status === 'active'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      row = (await gAdmin.get(`/sessions/${live.id}`)).body;
    }
    assert.equal(row.status, 'terminated');
    assert.equal(row.terminatedBy, 'admin');
    ws.close();
    client.end();
  } finally {
    await g.stop();
    await sshd.stop();
  }
});
