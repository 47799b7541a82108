// Recordings on S3 end to end (BASTION_RECORDINGS_URL=s3://…, s3rver on a loopback port): a
// real SSH session through the gateway is recorded as a multipart upload, played back through
// the API (whole, by byte range, in segments, by `asciinema cat`), completed when an admin
// terminates it and on SIGTERM, recovered up to its last uploaded part when the gateway
// process is killed, and deleted by retention.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SessionEntity, type Session } from '../core/db/entities/index.ts';
import { loadConfig } from '../core/config.ts';
import { recordingName } from '../core/recordings/recordingStore.ts';
import { sshdUnavailable, startSshd, type Sshd } from './helpers/sshd.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { startS3Relay, startS3rver, S3_BUCKET, type S3Relay, type S3rverHandle } from './helpers/s3rver.ts';
import { HIGH_WATER_BYTES } from '../gateway/recording/castWriter.ts';
import { openWatch, screenText } from './helpers/liveWatch.ts';
import { startBastion, ADMIN_PASSWORD } from './helpers/bastion.ts';
import { factories } from './helpers/factories.ts';
import { loggedIn } from './helpers/api.ts';
import { freePort } from './helpers/ports.ts';
import { startProduct, stopProduct, type Product } from './helpers/product.ts';
import { ALICE_PASSWORD, eventually, openShell, ssh2Exec, ssh2Login, startWorld, type World } from './gatewayFixture.ts';

const skip = sshdUnavailable();
let s3: S3rverHandle;

before(async () => { s3 = await startS3rver(); });
after(async () => { await s3.stop(); await cleanup(); });

/** `asciinema cat` of a downloaded recording (it wants a terminal: `script` gives it one). */
async function asciinemaCat(cast: string): Promise<string> {
  const dir = makeTempDir('bastion-cat-');
  writeFileSync(join(dir, 'in.cast'), cast);
  const r = await execa('script', ['-qec', `asciinema cat '${join(dir, 'in.cast')}' > '${join(dir, 'out')}'`, '/dev/null'], { reject: false, timeout: 60_000 });
  assert.equal(r.exitCode, 0, `asciinema cat failed: ${r.stdout}${r.stderr}`);
  return readFileSync(join(dir, 'out'), 'utf8');
}

/** The events of an asciicast, the header checked. */
function events(cast: string): [number, string, string][] {
  const [head, ...lines] = cast.split('\n').filter(Boolean);
  assert.equal((JSON.parse(head!) as { version: number }).version, 2);
  return lines.map((l) => JSON.parse(l) as [number, string, string]);
}

describe('recordings on S3 through the gateway', { skip }, () => {
  let w: World;
  before(async () => {
    // Parts of 5 MiB (the least S3 takes): the live-view test prints more than one.
    w = await startWorld({ http: true, topology: 'in-process', env: { ...s3.env('e2e'), BASTION_S3_PART_MB: '5' } });
  });
  after(async () => { await w?.stop(); });

  test('live view of a running session starts from its current screen, though the recording is not in the bucket yet, then streams', { timeout: 180_000 }, async () => {
    const client = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
    const admin = await loggedIn(w.bastion.baseUrl, 'admin', ADMIN_PASSWORD);
    try {
      const screen = await openShell(client);
      // Row 1 is written first and kept out of a scroll region (rows 3-24), then ~9 MiB scroll below it: what the
      // watcher sees on row 1 comes from the first part, which has left the gateway's memory for the bucket.
      await screen.send("printf '\\033[2J\\033[HTOP-%s\\n\\033[3;24r\\033[3;1H' $((6*7))\n", 'TOP-42');
      screen.stream.write('seq 1 700000 | sed s/^/row-/; echo END-$((7*7))\n');
      // Only the tail is looked at: searching 9 MiB of screen on every chunk takes longer than the output.
      for (let i = 0; i < 1200 && !screen.text.slice(-300).includes('END-49'); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(screen.text.slice(-300), /END-49/);
      const live = await eventually(() => w.bastion.services.ds.getRepository(SessionEntity).findOneBy({ status: 'active' }), (r) => r !== null);
      const name = w.bastion.services.sessions.recordingOf(live!)!;
      assert.equal(await w.bastion.services.recordings.stat(name), null, 'nothing readable in the bucket while the session runs');
      const watch = await openWatch(w.bastion.baseUrl, live!.id, admin.cookie!);
      try {
        const init = await watch.next();
        assert.equal(init.type, 'init');
        assert.equal(init.cols, 100);
        const shown = await screenText(init);
        assert.match(shown[0]!, /^TOP-42/, 'row 1, from the first part');
        assert.ok(shown.some((l) => l.startsWith('row-700000')), shown.join('\n'));
        assert.ok(shown.some((l) => l.startsWith('END-49')));
        // Then what happens, once: nothing the screen holds is sent again.
        await screen.send('echo after-$((6*8))\n', 'after-48');
        const streamed = await watch.until((all) => all.includes('after-48\r\n'));
        assert.ok(!streamed.includes('END-49'), 'the screen is not repeated');
      } finally {
        watch.close();
      }
    } finally {
      client.end();
    }
  });

  test('a shell is recorded to the bucket, played back through the API, completed when an admin terminates it, and deleted by retention', { timeout: 120_000 }, async () => {
    assert.equal(w.bastion.services.recordings.kind, 's3');
    const client = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
    const admin = await loggedIn(w.bastion.baseUrl, 'admin', ADMIN_PASSWORD);
    let row: Session;
    try {
      const screen = await openShell(client);
      await screen.send('echo s3-recorded-$((6*7))\n', 's3-recorded-42');
      await screen.send('seq 1 3000 | sed s/^/line-/\n', 'line-3000');
      const live = await eventually(() => w.bastion.services.ds.getRepository(SessionEntity).findOneBy({ status: 'active' }), (r) => r !== null);
      // Live: the upload is not complete yet, so there is nothing to play (S3 shows objects whole): said so, not "missing".
      const running = await admin.get(`/sessions/${live!.id}/recording`);
      assert.equal(running.status, 409);
      assert.deepEqual(running.body.error, { code: 'conflict', message: 'the session is still running; its recording is available when it ends', details: { reason: 'recording_session_running' } });
      assert.equal((await admin.post(`/sessions/${live!.id}/terminate`)).status, 202);
      await screen.waitFor(/session ended: terminated by admin/);
      row = await eventually(() => w.bastion.services.ds.getRepository(SessionEntity).findOneByOrFail({ id: live!.id }), (r) => r.status !== 'active');
    } finally {
      client.end();
    }
    assert.equal(row.status, 'terminated');
    const name = w.bastion.services.sessions.recordingOf(row);
    assert.ok(name, 'the row names its recording');
    const info = await eventually(() => w.bastion.services.recordings.stat(name), (i) => i !== null);
    assert.ok(info && info.size > 20_000, 'the upload was completed at the end of the session');

    // Whole: an asciicast that asciinema plays.
    const whole = await admin.get(`/sessions/${row.id}/recording`);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-type'), 'application/x-asciicast');
    const cast = whole.body as string;
    assert.equal(Buffer.byteLength(cast), info!.size);
    const out = events(cast).filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    assert.match(out, /s3-recorded-42/);
    assert.match(out, /line-3000/);
    assert.match(await asciinemaCat(cast), /line-2999/);
    // A byte range (how the player seeks in a live download and how resumable downloads ask).
    const ranged = await admin.request('GET', `/sessions/${row.id}/recording`, undefined, { range: 'bytes=100-1099' });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes 100-1099/${info!.size}`);
    assert.equal(ranged.body, Buffer.from(cast).subarray(100, 1100).toString());
    // Segments: built from the bucket, kept beside the recording as <uuid>.cast.seg.
    const index = await admin.get(`/sessions/${row.id}/recording/index`);
    assert.equal(index.status, 200);
    assert.ok(index.body.segments.length >= 1);
    const seg = await admin.get(`/sessions/${row.id}/recording/segments/0`);
    assert.equal(seg.status, 200);
    assert.ok(seg.body.events.length > 0);
    assert.ok(await w.bastion.services.recordings.readSidecar(name, { last: 23 }), 'the sidecar is in the bucket');

    // Retention: the session is old enough now; the recording and its sidecar leave the bucket.
    await w.bastion.services.ds.query(`UPDATE session SET started_at = ${Date.now() - 400 * 86_400_000} WHERE id = '${row.id}'`);
    const purged = await admin.post('/audit/retention/purge', { days: 180 });
    assert.equal(purged.status, 200);
    assert.equal(purged.body.recordings, 1);
    assert.equal(await w.bastion.services.recordings.stat(name), null);
    assert.equal(await w.bastion.services.recordings.readSidecar(name, { last: 23 }), null);
    assert.equal((await admin.get(`/sessions/${row.id}/recording`)).status, 404);
  });

  test('an exec without a PTY is recorded to the bucket as a transfer (head, tail, sizes and SHA-256)', { timeout: 60_000 }, async () => {
    const client = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
    try {
      const r = await ssh2Exec(client, 'seq 1 200000');
      assert.equal(r.code, 0);
    } finally {
      client.end();
    }
    const row = await eventually(
      () => w.bastion.services.ds.getRepository(SessionEntity).findOne({ where: { kind: 'exec' }, order: { startedAt: 'DESC' } }),
      (s) => s !== null && s.status !== 'active',
    );
    const admin = await loggedIn(w.bastion.baseUrl, 'admin', ADMIN_PASSWORD);
    const got = await eventually(() => admin.get(`/sessions/${row!.id}/recording`), (res) => res.status === 200);
    const cast = got.body as string;
    assert.deepEqual((JSON.parse(cast.split('\n')[0]!) as { bastion?: unknown }).bastion, { record: 'transfer', keepBytes: 64 * 1024 });
    const markers = events(cast).filter((e) => e[1] === 'm').map((e) => e[2]);
    assert.match(markers.at(-1)!, /^bastion: transfer: stdout 1288895 bytes sha256 [0-9a-f]{64}; stderr 0 bytes/);
  });
});

describe('recordings on S3 when the gateway process dies or stops', { skip }, () => {
  let sshd: Sshd;
  let dataDir: string;
  let env: Record<string, string>;
  let product: Product | undefined;
  let relay: S3Relay;
  const PART = 5 * 1024 * 1024;

  before(async () => {
    sshd = await startSshd();
    dataDir = makeTempDir('bastion-s3-crash-');
    // The rows the product will serve, made with the product's own services on its data dir.
    const b = await startBastion({ dataDir, http: false, env: s3.env('crash') });
    try {
      const f = factories(b.services);
      const alice = await f.user({ username: 'alice', password: ALICE_PASSWORD });
      const web01 = await f.asset({ name: 'web01', address: sshd.host, port: sshd.port });
      const su = await f.systemUser({ name: 'app', username: sshd.username, password: sshd.password, priority: 10 });
      await f.permission({ users: [alice.id], assets: [web01.id], systemUsers: [su.id], actions: ['connect'] });
    } finally {
      await b.stop();
    }
    // The product reaches the bucket through a relay that holds part 3 of any upload on its way, as a slow link would.
    relay = await startS3Relay(s3.endpoint, (n) => n === 3);
    env = {
      ...s3.env('crash'), BASTION_S3_ENDPOINT: relay.endpoint, BASTION_DATA_DIR: dataDir, BASTION_ADMIN_PASSWORD: ADMIN_PASSWORD, BASTION_GATEWAY_WORKERS: '0',
      BASTION_SESSION_HEARTBEAT_SECONDS: '1', BASTION_S3_PART_MB: '5', BASTION_LOGIN_RATE_PER_MINUTE: '0',
      BASTION_HTTP_PORT: String(await freePort()), BASTION_SSH_PORT: String(await freePort()),
    };
  });
  after(async () => {
    if (product && product.child.exitCode === null) product.child.kill('SIGKILL');
    await relay?.stop();
    await sshd?.stop();
  });

  /** Straight from the bucket (not through the product): the upload manifest of a recording, and the recording's size. */
  async function inBucket(name: string): Promise<{ manifest: { parts: unknown[]; bytes: number } | null; size: number | null }> {
    const loc = loadConfig(s3.env('crash')).recordings;
    if (loc.kind !== 's3') throw new Error('not S3');
    const client = new S3Client({ region: loc.region, endpoint: loc.endpoint, forcePathStyle: true, credentials: { accessKeyId: loc.credentials!.accessKeyId, secretAccessKey: loc.credentials!.secretAccessKey.reveal() } });
    try {
      const manifest = await client.send(new GetObjectCommand({ Bucket: S3_BUCKET, Key: `crash/uploads/${name}` }))
        .then(async (r) => JSON.parse(await r.Body!.transformToString()) as { parts: unknown[]; bytes: number }, () => null);
      const size = await client.send(new HeadObjectCommand({ Bucket: S3_BUCKET, Key: `crash/${name}` })).then((r) => r.ContentLength ?? 0, () => null);
      return { manifest, size };
    } finally {
      client.destroy();
    }
  }

  test('killed (SIGKILL) while a part is on its way: exactly the parts before it survive, completed at the next start without a reader; on SIGTERM the recording is complete', { timeout: 300_000 }, async () => {
    const api = () => loggedIn(`http://127.0.0.1:${env.BASTION_HTTP_PORT}`, 'admin', ADMIN_PASSWORD);
    const sshPort = Number(env.BASTION_SSH_PORT);
    product = await startProduct('start', env);
    const client = await ssh2Login(sshPort, { username: 'alice@web01', password: ALICE_PASSWORD });
    client.on('error', () => undefined);
    const screen = await openShell(client);
    await screen.send('echo START-$((6*7))\n', 'START-42');
    // About 24 MiB of output: parts 1 and 2 reach the bucket, part 3 is held on its way.
    screen.stream.write('head -c 18000000 /dev/zero | base64 -w 100; echo BULK-$((6*7))\n');
    await relay.heldPart(3);
    let admin = await api();
    const live = (await admin.get('/sessions?active=true')).body.items[0] as Session;
    assert.ok(live, 'the session is live');
    const name = recordingName(live.id, new Date(live.startedAt));
    // The gateway takes nothing more once part 3 is on its way: the session is held back (its output stops growing).
    let seen = -1;
    for (let i = 0; i < 600 && screen.text.length !== seen; i++) {
      seen = screen.text.length;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.doesNotMatch(screen.text.slice(-300), /BULK-42/, 'the session waits for the part on its way');
    const before = await inBucket(name);
    assert.equal(before.manifest?.parts.length, 2);

    product.child.kill('SIGKILL');
    await product.child;
    client.end();
    const operatorSaw = screen.text;
    // Heartbeats stop with the process: after three periods a new start closes the session as interrupted,
    // and completes its upload at once — nobody has asked for the recording.
    await new Promise((r) => setTimeout(r, 3500));
    product = await startProduct('start', env);
    const after = await eventually(() => inBucket(name), (b) => b.manifest === null && b.size !== null, 30_000);
    assert.equal(after.size, before.manifest!.bytes, 'exactly parts 1 and 2');
    admin = await api();
    const row = (await admin.get(`/sessions/${live.id}`)).body as Session;
    assert.deepEqual([row.status, row.recordingIncomplete], ['interrupted', true]);
    const r = await admin.get(`/sessions/${live.id}/recording`);
    assert.equal(r.status, 200);
    const text = r.body as string;
    assert.equal(Buffer.byteLength(text), before.manifest!.bytes);
    assert.match(text.slice(0, 200), /^\{"version":2,/);
    // Whole lines parse; only the last, cut at the part boundary, may not.
    const lines = text.split('\n');
    const kept = lines.slice(1, -1).map((l) => JSON.parse(l) as [number, string, string]).filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    assert.match(kept, /START-42/);
    // What survives is what the operator saw, from the start; what is lost is at most the part on its way and the
    // recorder's queue in memory (castWriter HIGH_WATER_BYTES) — not also a second part, as before.
    assert.ok(operatorSaw.includes(kept.slice(-2000)), 'the recording is what the operator was shown');
    const lost = operatorSaw.length - kept.length;
    assert.ok(lost <= PART + HIGH_WATER_BYTES + 512 * 1024, `lost ${lost} bytes`);

    // SIGTERM with a session live: the gateway completes the upload before it exits.
    relay.release();
    const c2 = await ssh2Login(sshPort, { username: 'alice@web01', password: ALICE_PASSWORD });
    c2.on('error', () => undefined);
    const s2 = await openShell(c2);
    await s2.send('echo TERM-$((6*7))\n', 'TERM-42');
    admin = await api();
    const second = ((await admin.get('/sessions?active=true')).body.items as Session[])[0]!;
    await stopProduct(product);
    product = undefined;
    c2.end();
    const b = await startBastion({ dataDir, http: false, env: s3.env('crash') });
    try {
      const ended = await b.services.sessions.get(second.id);
      assert.notEqual(ended.status, 'active');
      assert.equal(ended.recordingIncomplete, false);
      const rec = await b.services.sessions.recording(ended);
      assert.ok(rec, 'the recording is in the bucket');
      const body = Buffer.concat(await (await b.services.recordings.read(rec.name)).toArray() as Buffer[]).toString();
      assert.match(body, /TERM-42/);
      assert.equal((await inBucket(rec.name)).manifest, null);
    } finally {
      await b.stop();
    }
  });
});
