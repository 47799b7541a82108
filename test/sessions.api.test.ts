// Sessions, commands and recordings over the API: who may read them (rule 6), how the
// recording is served (Range), and that no file outside the recordings dir is ever served (rule 7).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SessionEntity, type Session } from '../core/db/entities/index.ts';
import { CastWriter } from '../gateway/recording/castWriter.ts';
import { recordingName as castRelativePath } from '../core/recordings/recordingStore.ts';
import { recordingFile } from './helpers/recordings.ts';
import { startBastion, type Bastion } from './helpers/bastion.ts';
import { ApiClient } from './helpers/api.ts';
import { startAuditWorld, type AuditWorld } from './helpers/auditWorld.ts';
import { factories } from './helpers/factories.ts';
import { makeTempDir } from './helpers/tmp.ts';
import { eventually } from './gatewayFixture.ts';
import { loginsHeld } from '../core/audit/loginsHeld.ts';

let w: AuditWorld;
let b: Bastion;
let admin: ApiClient;
let auditor: ApiClient;
let operator: ApiClient;
let recorded: Session;
let unrecorded: Session;
let castBytes: Buffer;

before(async () => {
  w = await startAuditWorld(async ({ b, f, alice, web01, db01 }) => {
    const deploy = await f.systemUser({ username: 'deploy' });
    const onDeploy = { user: alice, systemUser: deploy };
    recorded = await f.session({
      ...onDeploy, asset: web01, kind: 'shell',
      commands: [{ input: 'ls -la /etc', output: 'total 1234', offsetMs: 1500 }, { input: 'sudo systemctl restart nginx', offsetMs: 4200 }],
    });
    const cast = CastWriter.open(b.services.recordings, recorded.id, recorded.startedAt, { cols: 80, rows: 24 }, { title: 'alice → deploy@web01' });
    for (let i = 0; i < 200; i++) cast.output(Buffer.from(`line ${i}: some output from the backend\r\n`));
    await cast.close();
    await b.services.sessions.setRecording(recorded.id, cast.relativePath);
    await b.services.sessions.end(recorded.id, { status: 'closed', bytesIn: 42, bytesOut: 8000, exitStatus: 0 });
    castBytes = readFileSync(recordingFile(b.services, { id: recorded.id, recording: cast.relativePath })!);

    unrecorded = await f.session({ ...onDeploy, asset: db01, kind: 'exec', commands: [{ input: 'uptime', output: ' 10:00:00 up 1 day', offsetMs: 10 }] });
  });
  ({ b, admin, auditor, operator } = w);
});
after(async () => {
  await w?.stop();
});

test('without authentication every session, command and recording endpoint is 401', async () => {
  const anonymous = new ApiClient(b.baseUrl);
  for (const path of ['/sessions', `/sessions/${recorded.id}`, `/sessions/${recorded.id}/commands`, `/sessions/${recorded.id}/recording`, '/commands']) {
    const r = await anonymous.get(path);
    assert.equal(r.status, 401, path);
    assert.equal(r.body.error.code, 'unauthenticated');
  }
  // A bare link, as a browser would follow it: no cookie, no recording.
  const bare = await fetch(`${b.baseUrl}/api/v1/sessions/${recorded.id}/recording`);
  assert.equal(bare.status, 401);
  assert.doesNotMatch(await bare.text(), /"version"/);
});

test('an operator (role user) cannot read sessions, commands or recordings, not even her own', async () => {
  for (const path of ['/sessions', `/sessions/${recorded.id}`, `/sessions/${recorded.id}/commands`, `/sessions/${recorded.id}/recording`, '/commands']) {
    const r = await operator.get(path);
    assert.equal(r.status, 403, path);
    assert.equal(r.body.error.code, 'forbidden');
  }
});

test('auditors and admins list sessions newest first, filtered by user, asset, state and time', async () => {
  for (const client of [auditor, admin]) {
    const all = await client.get('/sessions');
    assert.equal(all.status, 200);
    assert.equal(all.body.total, 2);
    assert.deepEqual(all.body.items.map((s: { id: string }) => s.id), [unrecorded.id, recorded.id]);
  }
  const byName = await auditor.get('/sessions?user=alice&asset=web01');
  assert.deepEqual(byName.body.items.map((s: { id: string }) => s.id), [recorded.id]);
  const byId = await auditor.get(`/sessions?asset=${unrecorded.assetId}`);
  assert.deepEqual(byId.body.items.map((s: { id: string }) => s.id), [unrecorded.id]);
  const active = await auditor.get('/sessions?active=true');
  assert.deepEqual(active.body.items.map((s: { id: string }) => s.id), [unrecorded.id]);
  const ended = await auditor.get('/sessions?active=false');
  assert.deepEqual(ended.body.items.map((s: { id: string }) => s.id), [recorded.id]);
  const future = new Date(Date.now() + 3_600_000).toISOString();
  assert.equal((await auditor.get(`/sessions?from=${encodeURIComponent(future)}`)).body.total, 0);
  assert.equal((await auditor.get(`/sessions?to=${encodeURIComponent(future)}`)).body.total, 2);
  assert.equal((await auditor.get('/sessions?search=db0')).body.total, 1);
  assert.equal((await auditor.get('/sessions?user=nobody')).body.total, 0);
  assert.equal((await auditor.get('/sessions?active=maybe')).status, 400);
  assert.equal((await auditor.get('/sessions?from=yesterday')).status, 400);
});

test('a session reads with its user, asset, system user, bytes and a recording URL, never a file path', async () => {
  const r = await auditor.get(`/sessions/${recorded.id}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.user.username, 'alice');
  assert.equal(r.body.asset.name, 'web01');
  assert.equal(r.body.systemUser.username, 'deploy');
  assert.equal(r.body.kind, 'shell');
  assert.equal(r.body.status, 'closed');
  assert.equal(r.body.active, false);
  assert.equal(r.body.bytesOut, 8000);
  assert.equal(r.body.exitStatus, 0);
  assert.equal(r.body.recordingUrl, `/api/v1/sessions/${recorded.id}/recording`);
  assert.doesNotMatch(JSON.stringify(r.body), /\.cast|recordings/);
  const none = await auditor.get(`/sessions/${unrecorded.id}`);
  assert.equal(none.body.recordingUrl, null);
  assert.equal(none.body.active, true);
  assert.equal(r.body.recordingIncomplete, false);
  // A recording that failed or was truncated says so.
  await b.services.sessions.markRecordingIncomplete(unrecorded.id);
  assert.equal((await auditor.get(`/sessions/${unrecorded.id}`)).body.recordingIncomplete, true);
  assert.equal((await auditor.get('/sessions/0b6f5e1e-3a2b-4c8d-9e0f-112233445566')).status, 404);
});

test('a session\'s commands come in the order they were typed; /commands searches across sessions', async () => {
  const r = await auditor.get(`/sessions/${recorded.id}/commands`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.items.map((c: { input: string }) => c.input), ['ls -la /etc', 'sudo systemctl restart nginx']);
  assert.equal(r.body.items[0].output, 'total 1234');
  assert.equal(r.body.items[0].offsetMs, 1500);
  assert.equal(r.body.items[0].session, recorded.id);

  const search = await auditor.get('/commands?search=SYSTEMCTL');
  assert.deepEqual(search.body.items.map((c: { input: string }) => c.input), ['sudo systemctl restart nginx']);
  assert.equal((await auditor.get('/commands?user=alice')).body.total, 3);
  assert.equal((await auditor.get('/commands?asset=db01')).body.total, 1);
  assert.equal((await auditor.get('/commands?systemUser=deploy&asset=web01')).body.total, 2);
  assert.equal((await auditor.get('/commands?systemUser=root')).body.total, 0);
  const future = new Date(Date.now() + 3_600_000).toISOString();
  assert.equal((await auditor.get(`/commands?from=${encodeURIComponent(future)}`)).body.total, 0);
  assert.equal((await admin.get(`/commands?user=${recorded.userId}&limit=1`)).body.items.length, 1);
});

test('the recording streams as application/x-asciicast, whole or by Range (206, 416)', async () => {
  const url = `${b.baseUrl}/api/v1/sessions/${recorded.id}/recording`;
  const headers = { cookie: auditor.cookie! };
  const whole = await fetch(url, { headers });
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get('content-type'), 'application/x-asciicast');
  assert.equal(whole.headers.get('accept-ranges'), 'bytes');
  assert.ok(Buffer.from(await whole.arrayBuffer()).equals(castBytes));
  assert.match(castBytes.toString('utf8').split('\n')[0]!, /^\{"version":2,/);

  const first = await fetch(url, { headers: { ...headers, range: 'bytes=0-99' } });
  assert.equal(first.status, 206);
  assert.equal(first.headers.get('content-range'), `bytes 0-99/${castBytes.length}`);
  assert.ok(Buffer.from(await first.arrayBuffer()).equals(castBytes.subarray(0, 100)));

  const open = await fetch(url, { headers: { ...headers, range: 'bytes=100-' } });
  assert.equal(open.status, 206);
  assert.ok(Buffer.from(await open.arrayBuffer()).equals(castBytes.subarray(100)));

  const suffix = await fetch(url, { headers: { ...headers, range: 'bytes=-50' } });
  assert.equal(suffix.status, 206);
  assert.ok(Buffer.from(await suffix.arrayBuffer()).equals(castBytes.subarray(castBytes.length - 50)));

  const beyond = await fetch(url, { headers: { ...headers, range: `bytes=${castBytes.length}-` } });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers.get('content-range'), `bytes */${castBytes.length}`);
  await beyond.arrayBuffer();

  // Several ranges are not supported: the whole file, as RFC 9110 allows.
  const multi = await fetch(url, { headers: { ...headers, range: 'bytes=0-1,5-6' } });
  assert.equal(multi.status, 200);
  assert.equal(Buffer.from(await multi.arrayBuffer()).length, castBytes.length);

  const admins = await fetch(url, { headers: { cookie: admin.cookie! } });
  assert.equal(admins.status, 200);
  await admins.arrayBuffer();
});

test('a traversal-looking or non-UUID id is refused and no file outside the recordings dir is ever served', async () => {
  // What an attacker would aim at: the bastion's own secret key, next to the recordings dir.
  const secretKey = readFileSync(path.join(b.dataDir, 'secret.key'), 'utf8').trim();
  const leaked = (body: unknown) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return text.includes(secretKey) || /root:x:0:0|"version":\s*2/.test(text);
  };
  // Ids in the URL: refused by the router (404, no such endpoint) or by the UUID check (400), before any file is touched.
  const urls: Array<[string, number, string]> = [
    [`/sessions/..%2F..%2Fsecret.key/recording`, 400, 'validation_failed'],
    [`/sessions/${recorded.id}%2F..%2F..%2F..%2Fsecret.key/recording`, 400, 'validation_failed'],
    // fetch resolves %2E%2E like a browser: this asks for /sessions/recording.
    [`/sessions/%2E%2E/recording`, 404, 'not_found'],
    [`/sessions/not-a-uuid/recording`, 400, 'validation_failed'],
    [`/sessions/${recorded.id}.cast/recording`, 400, 'validation_failed'],
    [`/sessions/${recorded.id}/recording/..%2F..%2F..%2Fsecret.key`, 404, 'not_found'],
    [`/sessions/${recorded.id}/recording/segments/..%2F..%2Fsecret.key`, 400, 'validation_failed'],
  ];
  for (const [url, status, code] of urls) {
    const r = await auditor.get(url);
    assert.deepEqual([r.status, r.body?.error?.code], [status, code], url);
    assert.equal(leaked(r.body), false, url);
  }
  // A row whose recording column was tampered with (rule 7): the stored path is not trusted.
  const tampered = await b.services.sessions.start({
    userId: recorded.userId, username: 'alice', assetId: recorded.assetId, assetName: 'web01',
    systemUserId: null, systemUsername: 'deploy', kind: 'shell', clientAddress: '127.0.0.1',
  });
  const day = castRelativePath(tampered.id, tampered.startedAt).split('/').slice(0, 3).join('/');
  const attempts = [
    // Another session's real recording, under its real date: it exists, and is not this session's.
    castRelativePath(recorded.id, recorded.startedAt),
    // The right day and a traversal out of the recordings dir to files that exist.
    `${day}/../../../../secret.key`,
    `${day}/../../../../../../../etc/passwd`,
    `${day}/${tampered.id}.cast/../../../../../secret.key`,
    '../secret.key',
    path.join(b.dataDir, 'secret.key'),
    '/etc/passwd',
  ];
  for (const rel of attempts) {
    await b.services.ds.getRepository(SessionEntity).update({ id: tampered.id }, { recording: rel });
    for (const url of [`/sessions/${tampered.id}/recording`, `/sessions/${tampered.id}/recording/index`, `/sessions/${tampered.id}/recording/segments/0`]) {
      const r = await auditor.get(url);
      assert.deepEqual([r.status, r.body?.error?.code], [404, 'not_found'], `${url} with recording=${rel}`);
      assert.equal(leaked(r.body), false, `${url} with recording=${rel}`);
    }
  }
  for (const rel of attempts) await assert.rejects(b.services.sessions.setRecording(tampered.id, rel), /YYYY\/MM\/DD/, rel);
  // A session without a recording, and a recording whose file is gone.
  assert.equal((await auditor.get(`/sessions/${unrecorded.id}/recording`)).status, 404);
});

test('sessions left active by a crash are closed as interrupted once their gateway has stopped marking them', async () => {
  const dataDir = makeTempDir('bastion-restart-');
  const env = { BASTION_SESSION_HEARTBEAT_SECONDS: '1' };
  const first = await startBastion({ dataDir, http: false, env });
  const f = factories(first.services);
  const u = await f.user();
  const a = await f.asset();
  const start = { userId: u.id, username: u.username, assetId: a.id, assetName: a.name, systemUserId: null, systemUsername: 'deploy', kind: 'shell' as const, clientAddress: '127.0.0.1' };
  const crashed = await first.services.sessions.start(start);
  const held = await first.services.sessions.start(start);
  assert.equal((await loginsHeld(first.services.ds.manager, u.id)).sessions, 2);
  await first.stop(); // as if the process had died: the rows were never ended

  const second = await startBastion({ dataDir, http: false, env });
  try {
    // `held` stands for a session another gateway process still holds: it keeps being marked.
    const beat = setInterval(() => void second.services.sessions.heartbeat([held.id]), 300);
    try {
      const row = await eventually(() => second.services.sessions.get(crashed.id), (r) => r.status !== 'active', 10_000);
      assert.equal(row.status, 'interrupted');
      assert.ok(row.endedAt);
      assert.match(row.endReason ?? '', /gateway stopped/);
      await new Promise((r) => setTimeout(r, 3500));
      assert.equal((await second.services.sessions.get(held.id)).status, 'active', 'a session whose gateway is alive is left alone');
    } finally {
      clearInterval(beat);
    }
  } finally {
    await second.stop();
  }
});
