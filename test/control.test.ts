import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { compileFilter } from '../core/access/commandMatch.ts';
import { OperationLogEntity } from '../core/db/entities/index.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { loggedIn, ApiClient } from './helpers/api.ts';
import { factories } from './helpers/factories.ts';
import { cleanup } from './helpers/tmp.ts';
import { recordingsDir } from './helpers/recordings.ts';

let b: Bastion;
let admin: ApiClient;
let f: ReturnType<typeof factories>;
before(async () => {
  b = await startBastion();
  admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  f = factories(b.services);
});
after(async () => { await b.stop(); await cleanup(); });

test('a command list matches whole commands anywhere in the line, behind sudo, paths and pipes', () => {
  const re = compileFilter({ kind: 'commands', pattern: 'rm -rf\nshutdown, reboot' });
  for (const line of ['rm -rf /', 'sudo rm -rf /tmp/x', 'cd /; rm  -rf *', 'echo hi && /sbin/shutdown now', 'ls | reboot', 'sudo -u root reboot', 'x=$(reboot)']) {
    assert.equal(re.test(line), true, line);
  }
  for (const line of ['rm -r dir', 'echo shutdown-notice', 'ls rebooting', 'cat ~/shutdown.log', 'rmdir x']) {
    assert.equal(re.test(line), false, line);
  }
});

test('command filters: CRUD, validation, and verdicts by scope and priority', async () => {
  const bad = await admin.post('/command-filters', { name: 'broken', kind: 'regex', pattern: '(' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.details.field, 'pattern');
  const u = await f.user();
  const other = await f.user();
  const a = await f.asset();
  const su = await f.systemUser();
  const deny = await admin.post('/command-filters', { name: 'no-rm', pattern: 'rm -rf', action: 'deny', priority: 10, users: [u.id] });
  assert.equal(deny.status, 201);
  await admin.post('/command-filters', { name: 'allow-rm-tmp', kind: 'regex', pattern: '^rm -rf /tmp/', action: 'allow', priority: 5 });
  await admin.post('/command-filters', { name: 'confirm-reboot', pattern: 'reboot', action: 'confirm', priority: 20, assets: [a.id] });
  const check = (user: string, command: string) => admin.post('/command-filters/check', { user, asset: a.id, systemUser: su.id, command }).then((r) => r.body);
  assert.deepEqual((await check(u.id, 'rm -rf /var')).action, 'deny');
  assert.equal((await check(u.id, 'rm -rf /var')).filter.name, 'no-rm');
  assert.equal((await check(u.id, 'rm -rf /tmp/x')).action, 'allow', 'a lower priority number wins');
  assert.equal((await check(other.id, 'rm -rf /var')).action, 'allow', 'the deny filter is scoped to one user');
  assert.equal((await check(other.id, 'sudo reboot')).action, 'confirm');
  await admin.patch(`/command-filters/${deny.body.id}`, { active: false });
  assert.equal((await check(u.id, 'rm -rf /var')).action, 'allow');
  assert.equal((await admin.get('/command-filters')).body.total, 3);
  assert.equal((await admin.delete(`/command-filters/${deny.body.id}`)).status, 204);
});

test('a held command is released by an admin approval through the API, or times out rejected', async () => {
  const pending = b.services.confirmations.request({ sessionId: 'b1d3f0a2-0000-4000-8000-000000000001', jobId: null, username: 'u', assetName: 'a', systemUsername: 's', command: 'reboot', filter: 'confirm-reboot' }, 10_000);
  const list = (await admin.get('/command-confirmations')).body.items;
  assert.equal(list.length, 1);
  assert.equal(list[0].command, 'reboot');
  assert.equal((await admin.post(`/command-confirmations/${list[0].id}/approve`)).status, 204);
  assert.deepEqual(await pending, { approved: true, by: 'admin' });
  const timedOut = await b.services.confirmations.request({ sessionId: 'b1d3f0a2-0000-4000-8000-000000000002', jobId: null, username: 'u', assetName: 'a', systemUsername: 's', command: 'reboot', filter: 'x' }, 50);
  assert.equal(timedOut.approved, false);
  assert.equal((await admin.get('/command-confirmations')).body.total, 0);
});

test('a held command is decided once: an approval and a rejection sent at once give one 204 and one 409 naming the winner, one operation log row, and the outcome of the 204', async () => {
  const sessionId = 'b1d3f0a2-0000-4000-8000-000000000003';
  const pending = b.services.confirmations.request({ sessionId, jobId: null, username: 'u', assetName: 'a', systemUsername: 's', command: 'reboot', filter: 'confirm-reboot' }, 10_000);
  const id = ((await admin.get('/command-confirmations')).body.items as Array<{ id: string; sessionId: string }>).find((c) => c.sessionId === sessionId)!.id;
  const [approve, reject] = await Promise.all([admin.post(`/command-confirmations/${id}/approve`), admin.post(`/command-confirmations/${id}/reject`)]);
  assert.deepEqual([approve.status, reject.status].sort(), [204, 409]);
  const loser = approve.status === 409 ? approve : reject;
  assert.deepEqual(loser.body.error, { code: 'conflict', message: `this command was already ${approve.status === 204 ? 'approved' : 'rejected'} by admin`, details: { reason: 'confirmation_decided' } });
  assert.deepEqual(await pending, { approved: approve.status === 204, by: 'admin' });
  const logged = (await b.services.ds.getRepository(OperationLogEntity).findBy({ resourceId: sessionId })).map((o) => o.action);
  assert.deepEqual(logged, [approve.status === 204 ? 'approve_command' : 'reject_command']);
});

test('an admin cannot decide on their own held command (403 own_confirmation, still pending); another admin can', async () => {
  const second = await f.user({ role: 'admin', password: 'Str0ng-pass-second-admin', mustChangePassword: false });
  const other = await loggedIn(b.baseUrl, second.username, 'Str0ng-pass-second-admin');
  const sessionId = 'b1d3f0a2-0000-4000-8000-000000000004';
  const pending = b.services.confirmations.request({ sessionId, jobId: null, username: 'admin', assetName: 'a', systemUsername: 's', command: 'reboot', filter: 'confirm-reboot' }, 10_000);
  const id = ((await admin.get('/command-confirmations')).body.items as Array<{ id: string; sessionId: string }>).find((c) => c.sessionId === sessionId)!.id;
  for (const verb of ['approve', 'reject']) {
    const own = await admin.post(`/command-confirmations/${id}/${verb}`);
    assert.deepEqual([own.status, own.body.error.details.reason, own.body.error.message], [403, 'own_confirmation', 'you cannot decide on your own command; another administrator must']);
  }
  assert.deepEqual(((await admin.get('/command-confirmations')).body.items as Array<{ id: string }>).map((c) => c.id), [id], 'still waiting');
  assert.equal((await other.post(`/command-confirmations/${id}/approve`)).status, 204);
  assert.deepEqual(await pending, { approved: true, by: second.username });
  const logged = (await b.services.ds.getRepository(OperationLogEntity).findBy({ resourceId: sessionId })).map((o) => [o.action, o.actorUsername]);
  assert.deepEqual(logged, [['approve_command', second.username]]);
});

test('terminate publishes on the bus for an active session; an ended one is 409; plain users are 403', async () => {
  const u = await f.user();
  const a = await f.asset();
  const s = await b.services.sessions.start({ userId: u.id, username: u.username, assetId: a.id, assetName: a.name, systemUserId: null, systemUsername: 'x', kind: 'shell', clientAddress: '127.0.0.1' });
  const heard: unknown[] = [];
  const off = b.services.bus.subscribe('session.terminate', (m) => heard.push(m));
  const r = await admin.post(`/sessions/${s.id}/terminate`);
  off();
  assert.equal(r.status, 202);
  assert.deepEqual(heard, [{ sessionId: s.id, by: 'admin', reason: 'terminated by admin' }]);
  await b.services.sessions.end(s.id, { status: 'closed', bytesIn: 0, bytesOut: 0 });
  assert.equal((await admin.post(`/sessions/${s.id}/terminate`)).status, 409);
  await f.user({ username: 'plainuser', password: 'Plain-user-pass-1' });
  const plain = await loggedIn(b.baseUrl, 'plainuser', 'Plain-user-pass-1');
  assert.equal((await plain.post(`/sessions/${s.id}/terminate`)).status, 403);
  assert.equal((await new ApiClient(b.baseUrl).post(`/sessions/${s.id}/terminate`)).status, 401);
});

test('retention deletes old sessions with their recordings and old logs, keeps recent and live ones', async () => {
  const u = await f.user();
  const a = await f.asset();
  const old = await b.services.sessions.start({ userId: u.id, username: u.username, assetId: a.id, assetName: a.name, systemUserId: null, systemUsername: 'x', kind: 'shell', clientAddress: '127.0.0.1' });
  const rel = `2020/01/01/${old.id}.cast`;
  const file = path.join(recordingsDir(b.services), rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, '{"version": 2, "width": 80, "height": 24}\n');
  await b.services.sessions.setRecording(old.id, rel);
  await b.services.sessions.end(old.id, { status: 'closed', bytesIn: 0, bytesOut: 0 });
  const longAgo = Date.now() - 400 * 86_400_000;
  await b.services.ds.query(`UPDATE session SET started_at = ${longAgo} WHERE id = '${old.id}'`);
  await b.services.ds.query(`UPDATE login_log SET created_at = ${longAgo}`);
  const live = await b.services.sessions.start({ userId: u.id, username: u.username, assetId: a.id, assetName: a.name, systemUserId: null, systemUsername: 'x', kind: 'shell', clientAddress: '127.0.0.1' });
  await b.services.ds.query(`UPDATE session SET started_at = ${longAgo} WHERE id = '${live.id}'`);
  const r = await admin.post('/audit/retention/purge', { days: 180 });
  assert.equal(r.status, 200);
  assert.equal(r.body.sessions, 1);
  assert.equal(r.body.recordings, 1);
  assert.ok(r.body.loginLogs >= 1);
  assert.equal(existsSync(file), false);
  await assert.rejects(b.services.sessions.get(old.id));
  assert.equal((await b.services.sessions.get(live.id)).status, 'active');
});

test('the dashboard reports counts, seven days of logins and sessions, top lists and disk use', async () => {
  await new ApiClient(b.baseUrl).login('admin', 'wrong-password-x');
  const d = (await admin.get('/dashboard')).body;
  assert.ok(d.counts.users >= 1);
  assert.ok(d.counts.assets >= 1);
  assert.ok(d.counts.onlineSessions >= 1);
  assert.ok(d.counts.failedLoginsToday >= 1);
  assert.equal(d.perDay.length, 7);
  assert.equal(d.perDay[6].day, new Date().toISOString().slice(0, 10));
  assert.ok(d.perDay[6].sessions >= 1);
  assert.ok(Array.isArray(d.topAssets));
  assert.equal(d.recentFailedLogins[0].username, 'admin');
  assert.equal(typeof d.recordings.bytes, 'number');
});

test('file transfers are listed with filters and the logs export as CSV (formula-safe)', async () => {
  const u = await f.user({ username: 'csvuser' });
  const a = await f.asset({ name: 'csv-asset' });
  const s = await b.services.sessions.start({ userId: u.id, username: u.username, assetId: a.id, assetName: a.name, systemUserId: null, systemUsername: 'deploy', kind: 'sftp', clientAddress: '127.0.0.1' });
  await b.services.fileTransfers.record(s, { operation: 'upload', path: '/tmp/=cmd|calc', size: 10, ok: false, message: 'no upload permission' });
  await b.services.fileTransfers.record(s, { operation: 'download', path: '/etc/hostname', size: 7, ok: true });
  const list = (await admin.get('/audit/file-transfers?user=csvuser&ok=false')).body;
  assert.equal(list.total, 1);
  assert.equal(list.items[0].operation, 'upload');
  const csv = await admin.request('GET', '/audit/file-transfers?format=csv&asset=csv-asset');
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type') ?? '', /text\/csv/);
  const lines = String(csv.body).trim().split('\r\n');
  assert.equal(lines.length, 3);
  assert.ok(lines.some((l) => l.includes("'/tmp/=cmd|calc") || l.includes('/tmp/=cmd|calc')));
  assert.ok(!lines.some((l) => /(^|,)=/.test(l)), 'no cell starts with =');
  const logins = await admin.request('GET', '/audit/logins?format=csv');
  assert.match(String(logins.body), /^createdAt,username,clientAddress/);
  const plain = await loggedIn(b.baseUrl, 'plainuser', 'Plain-user-pass-1');
  assert.equal((await plain.get('/audit/file-transfers')).status, 403);
});
