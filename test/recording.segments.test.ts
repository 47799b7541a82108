// Segmented playback (issue 6, item 1): a recording is cut into segments, each starting with a
// snapshot of the terminal, built once into a sidecar beside the .cast and served to admins and
// auditors only. Real files, real headless terminal, real HTTP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync, existsSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { loggedIn, ApiClient } from './helpers/api.ts';
import { factories } from './helpers/factories.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import type { Session } from '../core/db/entities/index.ts';
import { idleCompressor, readSegment, type SegmentIndex } from '../core/audit/recordingSegments.ts';
import { TerminalReplay, screenOf, type TerminalSnapshot } from '../core/audit/terminalReplay.ts';
import { SegmentBuilder } from '../core/audit/segmentBuilder.ts';
import { buildLocalSegments, localSidecar, recordingsDir } from './helpers/recordings.ts';

type Ev = [number, string, string];

/**
 * A recording that exercises what a snapshot must carry over: colours, a scroll region (a
 * pager's status line), the alternate screen, a hidden cursor, a resize, bursts of output
 * and long pauses.
 */
function sampleEvents(): Ev[] {
  const ev: Ev[] = [];
  let t = 0.2;
  const o = (data: string, dt = 0.01) => { t = Math.round((t + dt) * 1e6) / 1e6; ev.push([t, 'o', data]); };
  o('deploy@web01:~$ ');
  for (let i = 0; i < 40; i++) o(`\x1b[3${i % 8}mline ${i} ${'x'.repeat(i % 50)}\x1b[0m\r\n`);
  o('deploy@web01:~$ less log\r\n', 3.5);
  o('\x1b[?1049h\x1b[H\x1b[2J\x1b[1;20r');
  for (let i = 0; i < 60; i++) o(`\x1b[20;1H\r\npager ${i} \x1b[1;44m${'y'.repeat(30)}\x1b[0m\x1b[24;1H\x1b[7m:status ${i}\x1b[0m`);
  o('\x1b[?25l', 0.5);
  ev.push([Math.round((t + 0.1) * 1e6) / 1e6, 'r', '100x30']);
  t += 0.1;
  for (let i = 0; i < 30; i++) o(`\x1b[20;1H\r\nwide ${i} ${'z'.repeat(70)}`);
  o('\x1b[r\x1b[?25h\x1b[?1049l', 12);
  for (let i = 0; i < 200; i++) o(`\x1b[1;3${i % 7}m${i}\x1b[0m ${'log '.repeat(10)}\r\n`, 0.005);
  o('\x1b[5;10Hcursor moved\x1b[4mstill underlined', 2);
  o('logout\r\n', 30);
  return ev;
}

function writeCast(file: string, events: Ev[], size = { width: 90, height: 24 }): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, [JSON.stringify({ version: 2, ...size, timestamp: 1767261600 }), ...events.map((e) => JSON.stringify(e))].join('\n') + '\n');
}

/** The screen after replaying every event with time < `until` (or all), from scratch. */
async function fullReplay(events: Ev[], until: number, size = { cols: 90, rows: 24 }): Promise<TerminalSnapshot> {
  const r = new TerminalReplay(size.cols, size.rows);
  for (const [t, code, data] of events) {
    if (t >= until) break;
    if (code === 'o') r.write(data);
    else if (code === 'r') { const [c, w] = data.split('x').map(Number) as [number, number]; await r.resize(c, w); }
  }
  const s = await r.snapshot();
  r.dispose();
  return s;
}

let b: Bastion;
let auditor: ApiClient;
let operator: ApiClient;
let ended: Session;
let endedFile: string;
let active: Session;
const events = sampleEvents();

async function recordedSession(evs: Ev[], opts: { end: boolean }): Promise<{ session: Session; file: string }> {
  const f = factories(b.services);
  const u = await f.user();
  const a = await f.asset();
  const s = await b.services.sessions.start({ userId: u.id, username: u.username, assetId: a.id, assetName: a.name, systemUserId: null, systemUsername: 'deploy', kind: 'shell', clientAddress: '192.0.2.9' });
  const rel = `2026/01/01/${s.id}.cast`;
  const file = path.join(recordingsDir(b.services), rel);
  writeCast(file, evs);
  await b.services.sessions.setRecording(s.id, rel);
  if (opts.end) await b.services.sessions.end(s.id, { status: 'closed', bytesIn: 1, bytesOut: 1, exitStatus: 0 });
  return { session: s, file };
}

before(async () => {
  b = await startBastion();
  const f = factories(b.services);
  await f.user({ username: 'audra', password: 'Quiet-lake-7731', role: 'auditor' });
  await f.user({ username: 'otto', password: 'Green-hill-5519', role: 'user' });
  auditor = await loggedIn(b.baseUrl, 'audra', 'Quiet-lake-7731');
  operator = await loggedIn(b.baseUrl, 'otto', 'Green-hill-5519');
  ({ session: ended, file: endedFile } = await recordedSession(events, { end: true }));
  ({ session: active } = await recordedSession(events, { end: false }));
});
after(async () => { await b.stop(); await cleanup(); });

test('a recording is cut at output-size boundaries, between distinct times, losing no event', async () => {
  const dir = makeTempDir('segments-');
  const file = path.join(dir, 'a.cast');
  writeCast(file, events);
  const index = await buildLocalSegments(file, { segmentBytes: 2048 });
  assert.ok(index.segments.length >= 5, `${index.segments.length} segments`);
  assert.equal(index.segments[0]!.start, 0);
  assert.equal(index.duration, events.at(-1)![0]);
  assert.deepEqual([index.cols, index.rows], [90, 24]);
  const all: Ev[] = [];
  for (let i = 0; i < index.segments.length; i++) {
    const s = index.segments[i]!;
    const next = index.segments[i + 1]?.start ?? Infinity;
    const seg = await readSegment(localSidecar(file), s, (t) => t);
    assert.ok(seg.events.length > 0);
    if (i > 0) assert.equal(seg.events[0]![0], s.start, `segment ${i} begins with its first event`);
    for (const e of seg.events) assert.ok(e[0] >= s.start && (e[0] < next || (i === index.segments.length - 1 && e[0] <= index.duration)));
    if (i > 0) assert.ok(s.start > index.segments[i - 1]!.start && s.start < index.duration);
    all.push(...seg.events);
  }
  assert.deepEqual(all, events, 'the segments hold every event, in order, unchanged');
  // Pauses longer than a second are listed for skipping idle time.
  assert.ok(index.gaps.some(([a, c]) => c - a >= 30 - 1e-9));
});

test('each snapshot is the screen a full replay shows at its segment start, and playing on from it matches too', async () => {
  const dir = makeTempDir('segments-');
  const file = path.join(dir, 'b.cast');
  writeCast(file, events);
  const index: SegmentIndex = await buildLocalSegments(file, { segmentBytes: 1500 });
  assert.ok(index.segments.length >= 6);
  let sawAlt = false;
  let sawResize = false;
  for (let i = 0; i < index.segments.length; i++) {
    const entry = index.segments[i]!;
    const seg = await readSegment(localSidecar(file), entry, (t) => t);
    const expected = await fullReplay(events, entry.start);
    assert.deepEqual([seg.snapshot.cols, seg.snapshot.rows], [expected.cols, expected.rows], `segment ${i} size`);
    assert.equal(await screenOf(seg.snapshot), await screenOf(expected), `segment ${i}: snapshot = full replay at ${entry.start}`);
    // Hidden state (scroll region, pen, modes) must carry over: replay the segment on top of its snapshot.
    const end = index.segments[i + 1]?.start ?? Infinity;
    const r = new TerminalReplay(seg.snapshot.cols, seg.snapshot.rows);
    r.write(seg.snapshot.init);
    for (const [, code, data] of seg.events) {
      if (code === 'o') r.write(data);
      else if (code === 'r') { const [c, w] = data.split('x').map(Number) as [number, number]; await r.resize(c, w); }
    }
    const played = await r.snapshot();
    r.dispose();
    assert.equal(await screenOf(played), await screenOf(await fullReplay(events, end)), `segment ${i}: snapshot + its events = full replay at its end`);
    sawAlt ||= seg.snapshot.init.includes('\x1b[?1049h');
    sawResize ||= seg.snapshot.cols === 100;
  }
  assert.ok(sawAlt, 'some snapshot is taken on the alternate screen');
  assert.ok(sawResize, 'some snapshot is taken after the resize');
});

test('skipping idle time shortens pauses in the index and the segments alike, and maps like the player would', async () => {
  const index = await auditor.get(`/sessions/${ended.id}/recording/index?idle=2`);
  assert.equal(index.status, 200);
  const plain = await auditor.get(`/sessions/${ended.id}/recording/index`);
  assert.ok(index.body.duration < plain.body.duration - 30, `${index.body.duration} < ${plain.body.duration}`);
  assert.equal(index.body.recordingDuration, plain.body.recordingDuration);
  assert.match(index.body.segments[0].url, /^segments\/0\?idle=2$/);
  // The player's own time limiter (asciinema-player prepareRecording) over the whole recording.
  let prev = 0;
  let shift = 0;
  const expected = events.map(([t, c, d]) => { const delta = t - prev - 2; prev = t; if (delta > 0) shift += delta; return [Math.round((t - shift) * 1e6) / 1e6, c, d]; });
  const got: unknown[] = [];
  for (const s of index.body.segments) {
    const r = await auditor.get(`/sessions/${ended.id}/recording/${s.url}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.events[0][0] >= s.start, true);
    got.push(...r.body.events);
  }
  assert.deepEqual(got, expected);
  const compress = idleCompressor(plain.body.gaps, 2);
  assert.equal(compress(plain.body.duration), index.body.duration);
});

test('the index and segments follow the player format and are built once, then read from the sidecar', async () => {
  await b.services.sessions.segments.idle();
  const r = await auditor.get(`/sessions/${ended.id}/recording/index`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cache-control'), 'private, no-store');
  const idx = r.body;
  assert.equal(idx.version, 1);
  assert.deepEqual(idx.term, { cols: 90, rows: 24 });
  assert.equal(idx.duration, events.at(-1)![0]);
  assert.equal(idx.segments[0].start, 0);
  const sidecar = `${endedFile}.seg`;
  assert.ok(existsSync(sidecar), 'the sidecar sits beside the recording');
  assert.equal(path.basename(sidecar), `${ended.id}.cast.seg`);
  const built = statSync(sidecar);
  // A second request, and a segment, read it: nothing is rebuilt.
  await new Promise((res) => setTimeout(res, 20));
  assert.equal((await auditor.get(`/sessions/${ended.id}/recording/index`)).status, 200);
  const raw = await fetch(`${b.baseUrl}/api/v1/sessions/${ended.id}/recording/segments/0`, { headers: { cookie: auditor.cookie!, 'accept-encoding': 'gzip' } });
  assert.equal(raw.status, 200);
  const seg = JSON.parse(Buffer.from(await raw.arrayBuffer()).toString('utf8')) as { snapshot: { cols: number; rows: number; init: string }; events: Ev[] };
  assert.deepEqual(seg.snapshot, { cols: 90, rows: 24, init: '' });
  assert.deepEqual(seg.events[0], events[0]);
  assert.equal(statSync(sidecar).mtimeMs, built.mtimeMs, 'served from the sidecar, not rebuilt');
  // Stored gzipped, sent as stored.
  const http = await import('node:http');
  const gz = await new Promise<Buffer>((resolve, reject) => {
    http.get(`${b.baseUrl}/api/v1/sessions/${ended.id}/recording/segments/0`, { headers: { cookie: auditor.cookie!, 'accept-encoding': 'gzip' } }, (res) => {
      assert.equal(res.headers['content-encoding'], 'gzip');
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject);
    }).on('error', reject);
  });
  assert.deepEqual(JSON.parse(gunzipSync(gz).toString('utf8')), seg);
  // A recording that changed (rewritten) is rebuilt on the next request.
  appendFileSync(endedFile, JSON.stringify([events.at(-1)![0] + 1, 'o', 'late\r\n']) + '\n');
  const again = await auditor.get(`/sessions/${ended.id}/recording/index`);
  assert.equal(again.body.duration, events.at(-1)![0] + 1);
  assert.notEqual(statSync(sidecar).mtimeMs, built.mtimeMs);
  assert.equal((await auditor.get(`/sessions/${ended.id}/recording/segments/99`)).status, 404);
});

test('segments are served to admins and auditors only, by UUID, for ended sessions', async () => {
  const paths = [`/sessions/${ended.id}/recording/index`, `/sessions/${ended.id}/recording/segments/0`];
  for (const p of paths) {
    assert.equal((await fetch(`${b.baseUrl}/api/v1${p}`)).status, 401, `${p} without auth`);
    const u = await operator.get(p);
    assert.equal(u.status, 403, `${p} as a user`);
    assert.doesNotMatch(JSON.stringify(u.body), /snapshot|segments/);
    const admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
    assert.equal((await admin.get(p)).status, 200, `${p} as admin`);
  }
  for (const id of ['..%2F..%2Fetc%2Fpasswd', 'not-a-uuid', `${ended.id}.cast`, `${ended.id}%2F..`]) {
    const r = await auditor.get(`/sessions/${id}/recording/index`);
    // Refused by the UUID check, before any file is looked at.
    assert.deepEqual([r.status, r.body?.error?.code, r.body?.error?.details?.field], [400, 'validation_failed', 'id'], id);
  }
  for (const n of ['-1', 'x', '1.5', '..%2F..']) {
    const r = await auditor.get(`/sessions/${ended.id}/recording/segments/${n}`);
    assert.deepEqual([r.status, r.body?.error?.code, r.body?.error?.details?.field], [400, 'validation_failed', 'n'], `segment ${n}`);
  }
  assert.equal((await auditor.get(`/sessions/00000000-0000-4000-8000-000000000000/recording/index`)).status, 404);
  assert.equal((await auditor.get(`/sessions/${ended.id}/recording/index?idle=abc`)).status, 400);
  // A session still being recorded: fetched whole instead (the file is still growing).
  const live = await auditor.get(`/sessions/${active.id}/recording/index`);
  assert.equal(live.status, 409);
  assert.equal((await auditor.get(`/sessions/${active.id}/recording`)).status, 200);
});

test("segments are built by a low-priority builder process, the same as here; a bad file fails only its build", async () => {
  const file = path.join(makeTempDir('bastion-seg-thread-'), 'thread.cast');
  writeCast(file, events);
  const here = await buildLocalSegments(file);
  const out = (n: number) => `${file}.${n}.seg`;
  // No fallback: the build must happen on the worker thread.
  const builder = new SegmentBuilder(() => Promise.reject(new Error('built on the main thread')));
  try {
    const [a, b2] = await Promise.all([builder.build(file, out(1)), builder.build(file, out(2))]);
    for (const index of [a, b2]) assert.deepEqual({ ...index, source: null }, { ...here, source: null });
    const missing = path.join(path.dirname(file), 'missing.cast');
    await assert.rejects(builder.build(missing, out(3)), /ENOENT|no such file/);
    // The thread goes on after a failed build.
    assert.equal((await builder.build(file, out(4))).segments.length, here.segments.length);
  } finally {
    await builder.close();
  }
});
