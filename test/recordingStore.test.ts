// The RecordingStore contract: one suite, run against the local directory and against a real
// S3 server (s3rver on a loopback port over a temp directory, the S3 REST API, nothing mocked).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { loadConfig } from '../core/config.ts';
import { parseRecordingName, recordingName, type RecordingName, type RecordingStore } from '../core/recordings/recordingStore.ts';
import { DirectoryRecordingStore } from '../core/recordings/directoryStore.ts';
import { S3RecordingStore } from '../core/recordings/s3Store.ts';
import { openRecordingStore } from '../core/recordings/openRecordingStore.ts';
import { CastWriter, HIGH_WATER_BYTES } from '../gateway/recording/castWriter.ts';
import { readCast } from '../core/audit/terminalReplay.ts';
import { startS3Relay, startS3rver, type S3rverHandle } from './helpers/s3rver.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';

test('config: BASTION_RECORDINGS_URL picks the directory (default) or an S3 bucket with its variables', () => {
  const d = loadConfig({ BASTION_DATA_DIR: '/srv/b' }).recordings;
  assert.deepEqual(d, { kind: 'directory', dir: path.resolve('/srv/b/recordings') });
  assert.deepEqual(loadConfig({ BASTION_RECORDINGS_URL: 'file:///mnt/rec' }).recordings, { kind: 'directory', dir: '/mnt/rec' });
  const s = loadConfig({
    BASTION_RECORDINGS_URL: 's3://bastion-rec/prod/eu/', BASTION_S3_ENDPOINT: 'http://127.0.0.1:9000', BASTION_S3_FORCE_PATH_STYLE: 'true',
    BASTION_S3_ACCESS_KEY_ID: 'AK', BASTION_S3_SECRET_ACCESS_KEY: 'SK', BASTION_S3_SSE: 'AES256',
  }).recordings;
  assert.equal(s.kind, 's3');
  if (s.kind !== 's3') return;
  assert.equal(s.bucket, 'bastion-rec');
  assert.equal(s.prefix, 'prod/eu');
  assert.equal(s.endpoint, 'http://127.0.0.1:9000');
  assert.equal(s.region, 'us-east-1');
  assert.equal(s.forcePathStyle, true);
  assert.equal(s.sse, 'AES256');
  assert.equal(s.credentials?.accessKeyId, 'AK');
  assert.equal(String(s.credentials?.secretAccessKey), '<secret>');
  assert.equal(s.partBytes, 8 * 1024 * 1024);
  assert.throws(() => loadConfig({ BASTION_RECORDINGS_URL: 'ftp://x/y' }), /BASTION_RECORDINGS_URL/);
  assert.throws(() => loadConfig({ BASTION_RECORDINGS_URL: 's3://B_ad/x' }), /BASTION_RECORDINGS_URL/);
  assert.throws(() => loadConfig({ BASTION_RECORDINGS_URL: 's3://bucket/a/../b' }), /BASTION_RECORDINGS_URL/);
  assert.throws(() => loadConfig({ BASTION_RECORDINGS_URL: 's3://bucket', BASTION_S3_ACCESS_KEY_ID: 'AK' }), /BASTION_S3_ACCESS_KEY_ID/);
  assert.throws(() => loadConfig({ BASTION_S3_PART_MB: '4' }), /BASTION_S3_PART_MB/);
});

test('recording names are made from the session UUID only, and a stored name is accepted only for its own session', () => {
  const id = randomUUID();
  const name = recordingName(id, new Date(Date.UTC(2026, 0, 2, 23, 59)));
  assert.equal(name, `2026/01/02/${id}.cast`);
  assert.equal(parseRecordingName(id, name), name);
  assert.equal(parseRecordingName(randomUUID(), name), null, "another session's recording");
  for (const bad of [`../${id}.cast`, `2026/01/02/../../${id}.cast`, `/etc/${id}.cast`, `2026/01/02/${id}.cast.seg`, `2026/1/2/${id}.cast`, '']) {
    assert.equal(parseRecordingName(id, bad), null, bad);
  }
  assert.throws(() => recordingName('../../etc/passwd', new Date()), /UUID/);
});

/** Writes `chunks` through a store's writer, resolving when it is durable (or rejecting with its error). */
async function writeAll(w: Writable, chunks: Buffer[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    w.once('error', reject);
    w.once('finish', resolve);
    for (const c of chunks) w.write(c);
    w.end();
  });
}

const PART = 64 * 1024;

/** Test data: recognisable lines, `n` bytes. */
function payload(n: number, seed = 'line'): Buffer {
  let s = '';
  for (let i = 0; s.length < n; i++) s += `${seed} ${i} ${'x'.repeat(i % 50)}\n`;
  return Buffer.from(s.slice(0, n));
}

interface Kind {
  label: string;
  open(): Promise<RecordingStore>;
  /** A store whose writes are refused (missing directory's parent is a file; a bucket that does not exist). */
  broken(): Promise<RecordingStore>;
}

let s3: S3rverHandle;
const kinds: Kind[] = [
  {
    label: 'directory store',
    open: async () => new DirectoryRecordingStore(path.join(makeTempDir('bastion-store-'), 'recordings')),
    broken: async () => {
      const file = path.join(makeTempDir('bastion-store-'), 'not-a-dir');
      writeFileSync(file, '');
      return new DirectoryRecordingStore(file);
    },
  },
  {
    label: 'S3 store (s3rver)',
    open: async () => new S3RecordingStore({ ...s3Location(`t-${randomUUID().slice(0, 8)}`), partBytes: PART }),
    broken: async () => new S3RecordingStore({ ...s3Location('x'), bucket: 'no-such-bucket', partBytes: PART }),
  },
];

function s3Location(prefix: string) {
  const loc = loadConfig(s3.env(prefix)).recordings;
  assert.equal(loc.kind, 's3');
  if (loc.kind !== 's3') throw new Error('unreachable');
  return loc;
}

before(async () => { s3 = await startS3rver(); });
after(async () => { await s3.stop(); await cleanup(); });

for (const kind of kinds) {
  describe(`RecordingStore contract: ${kind.label}`, () => {
    let store: RecordingStore;
    before(async () => { store = await kind.open(); });
    after(() => store.close());
    const fresh = (): RecordingName => recordingName(randomUUID(), new Date());

    test('a recording written in many small writes reads back whole and in byte ranges; a missing one is null / ENOENT', async () => {
      const name = fresh();
      const data = payload(5 * PART + 1234);
      const chunks: Buffer[] = [];
      for (let i = 0; i < data.length; i += 1000) chunks.push(data.subarray(i, i + 1000));
      await writeAll(store.create(name), chunks);
      const info = await store.stat(name);
      assert.equal(info?.size, data.length);
      assert.ok(info!.mtimeMs > 0);
      assert.equal(await text(await store.read(name)), data.toString());
      // (s3rver reads `bytes=0-0` as the whole object, S3 does not: one byte at 0 is left out.)
      for (const [start, end] of [[0, 1], [0, 99], [PART - 10, PART + 10], [data.length - 7, data.length - 1], [12345, 3 * PART]]) {
        assert.equal(await text(await store.read(name, { start: start!, end: end! })), data.subarray(start!, end! + 1).toString(), `bytes ${start}-${end}`);
      }
      const missing = fresh();
      assert.equal(await store.stat(missing), null);
      await assert.rejects(store.read(missing), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
    });

    test('a recording is never replaced: a second writer for the same name fails and the first stays', async () => {
      const name = fresh();
      await writeAll(store.create(name), [Buffer.from('first\n')]);
      await assert.rejects(writeAll(store.create(name), [Buffer.from('second\n')]), (e: NodeJS.ErrnoException) => e.code === 'EEXIST');
      assert.equal(await text(await store.read(name)), 'first\n');
    });

    test('a store that refuses writes fails the writer before the session goes on (fail-closed), and its probe says so', async () => {
      const broken = await kind.broken();
      try {
        await assert.rejects(writeAll(broken.create(fresh()), [Buffer.from('{"version":2}\n')]));
        await assert.rejects(broken.probe());
        const cast = CastWriter.open(broken, randomUUID(), new Date(), { cols: 80, rows: 24 });
        await assert.rejects(cast.opened());
        await cast.close();
      } finally {
        broken.close();
      }
      await store.probe();
    });

    test('the segment sidecar is built from a local copy, kept beside the recording, read by ranges, and rebuilt after removal', async () => {
      const name = fresh();
      const cast = Buffer.from('{"version":2,"width":80,"height":24}\n[0.5, "o", "hi"]\n');
      await writeAll(store.create(name), [cast]);
      assert.equal(await store.readSidecar(name, { last: 4 }), null);
      const seen = await store.buildSidecar(name, async (castFile, outFile) => {
        writeFileSync(outFile, 'SIDECAR-0123456789');
        return readFileSync(castFile, 'utf8');
      });
      assert.match(seen, /"hi"/);
      assert.deepEqual(await store.readSidecar(name, { last: 4 }), { data: Buffer.from('6789'), size: 18 });
      assert.deepEqual(await store.readSidecar(name, { start: 2, length: 5 }), { data: Buffer.from('DECAR'), size: 18 });
      // A failed build leaves the sidecar there was.
      await assert.rejects(store.buildSidecar(name, async () => { throw new Error('build failed'); }), /build failed/);
      assert.equal((await store.readSidecar(name, { last: 2 }))?.data.toString(), '89');
      await store.removeSidecar(name);
      assert.equal(await store.readSidecar(name, { last: 4 }), null);
      assert.equal((await store.stat(name))?.size, cast.length, 'the recording stays');
    });

    test('removal deletes the recording and its sidecar; usage counts what is kept', async () => {
      const own = await kind.open();
      try {
        const a = fresh();
        const b = fresh();
        await writeAll(own.create(a), [payload(3000)]);
        await writeAll(own.create(b), [payload(500)]);
        await own.buildSidecar(a, async (_c, out) => writeFileSync(out, 'x'.repeat(100)));
        assert.deepEqual(await own.usage(), { bytes: 3600, files: 3 });
        assert.equal(await own.remove(a), true);
        assert.equal(await own.stat(a), null);
        assert.equal(await own.readSidecar(a, { last: 1 }), null);
        assert.equal(await own.remove(a), false);
        assert.deepEqual(await own.usage(), { bytes: 500, files: 1 });
      } finally {
        own.close();
      }
    });

    test('a writer that dies mid-recording leaves what reached the store readable, at most its last part lost, completed by whoever sweeps', async () => {
      const name = fresh();
      const data = payload(4 * PART + 500, 'crash');
      const w = store.create(name);
      w.on('error', () => undefined);
      // Each write is acknowledged once the store took it (S3: the write that fills a part, once that part is in the bucket).
      for (let i = 0; i < data.length; i += 4096) await new Promise<void>((resolve, reject) => w.write(data.subarray(i, i + 4096), (err) => (err ? reject(err) : resolve())));
      // Killed: no end(), no completion.
      w.destroy();
      assert.deepEqual(await store.unfinished(), store.kind === 's3' ? [name] : []);
      assert.equal(await store.recover(name), store.kind === 's3' ? 'recovered' : 'none');
      const got = Buffer.from(await (await store.read(name)).toArray().then((c) => Buffer.concat(c as Buffer[])));
      assert.ok(data.subarray(0, got.length).equals(got), 'what was kept is the start of what was written, unchanged');
      // Writes of 4 KiB fill 64 KiB parts exactly: every full part is kept, only the 500 bytes of the part being filled are lost.
      assert.equal(got.length, store.kind === 's3' ? 4 * PART : data.length);
      assert.equal(await store.recover(name), 'none', 'nothing left to recover');
      assert.deepEqual(await store.unfinished(), []);
    });

    test('a recording being written is readable as far as it has come exactly where the store says so (a file); on S3 only once it ends', async () => {
      const name = fresh();
      const data = payload(PART + 500, 'running');
      const w = store.create(name);
      w.write(data);
      // Taken: in the file, or a part in the bucket's unfinished upload and the rest in memory.
      await w.written(data.length);
      assert.equal(store.readableWhileWriting, store.kind === 'directory');
      if (store.readableWhileWriting) {
        assert.equal((await store.stat(name))?.size, data.length);
        assert.equal(await text(await store.read(name)), data.toString());
      } else {
        assert.equal(await store.stat(name), null);
        await assert.rejects(store.read(name), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
      }
      await writeAll(w, []);
      assert.equal((await store.stat(name))?.size, data.length);
      assert.equal(await text(await store.read(name)), data.toString());
    });

    test('a writer hands back what it has taken so far (the live view of the process writing it): the parts that left memory, then the rest', async () => {
      const name = fresh();
      const data = payload(2 * PART + 777, 'live');
      const w = store.create(name);
      const parts: { start: number; data: Buffer }[] = [];
      w.onPart((start, part) => parts.push({ start, data: part }));
      const half = 2 * PART - 100;
      w.write(data.subarray(0, half));
      const early = w.written(half);
      w.write(data.subarray(half));
      const { start, data: rest } = await early;
      const tail = Buffer.concat(await rest.toArray() as Buffer[]);
      assert.equal(start + tail.length, half);
      assert.deepEqual(parts.map((p) => p.start), store.kind === 's3' ? [0] : []);
      assert.ok(Buffer.concat([...parts.map((p) => p.data).filter((_, i) => parts[i]!.start < start), tail]).equals(data.subarray(0, half)));
      const all = await w.written(data.length);
      assert.equal(all.start, store.kind === 's3' ? half : 0);
      await writeAll(w, []);
      await assert.rejects(w.written(1));
    });

    test('castWriter on this store: the screen so far, for a live viewer, is the screen its recording replays to, parts or not', async () => {
      const lines = (from: number, n: number) => Buffer.from(Array.from({ length: n }, (_, i) => `\x1b[3${(from + i) % 8}mrow ${from + i} ${'z'.repeat((from + i) % 70)}\x1b[0m\r\n`).join(''));
      const cast = CastWriter.open(store, randomUUID(), new Date(), { cols: 90, rows: 20 });
      await cast.opened();
      // A title row kept out of a scroll region, then ~5 parts of 64 KiB scrolling below it.
      cast.output(Buffer.from('\x1b[2J\x1b[HTITLE-ROW\r\n\x1b[3;20r\x1b[3;1H'));
      for (let i = 0; i < 6000; i += 500) {
        if (!cast.output(lines(i, 500))) await new Promise<void>((resolve) => cast.whenDrained(resolve));
      }
      cast.resize(100, 22);
      const live = await cast.screen();
      cast.output(lines(6000, 10));
      await cast.close();
      // The same output, recorded whole to a file and replayed there.
      const ref = CastWriter.open(new DirectoryRecordingStore(makeTempDir('bastion-ref-')), randomUUID(), new Date(), { cols: 90, rows: 20 });
      await ref.opened();
      ref.output(Buffer.from('\x1b[2J\x1b[HTITLE-ROW\r\n\x1b[3;20r\x1b[3;1H'));
      for (let i = 0; i < 6000; i += 500) ref.output(lines(i, 500));
      ref.resize(100, 22);
      const expected = await ref.screen();
      await ref.close();
      assert.deepEqual([live.cols, live.rows], [100, 22]);
      assert.equal(live.data, expected.data);
      assert.match(live.data, /TITLE-ROW/);
      assert.match(live.data, /row 5999/);
      assert.doesNotMatch(live.data, /row 6000/);
    });

    test('castWriter on this store: backpressure bounds what is queued, nothing is dropped, and the size cap truncates with a marker', async () => {
      const cast = CastWriter.open(store, randomUUID(), new Date(), { cols: 80, rows: 24 });
      await cast.opened();
      const chunk = Buffer.from('y'.repeat(32 * 1024 - 2) + '\r\n');
      const total = 512;
      for (let i = 0; i < total; i++) {
        if (!cast.output(chunk)) await new Promise<void>((resolve) => cast.whenDrained(resolve));
      }
      await cast.close();
      assert.ok(cast.stats.maxQueuedBytes < HIGH_WATER_BYTES + 256 * 1024, `queued ${cast.stats.maxQueuedBytes} bytes`);
      assert.equal(cast.stats.droppedBytes, 0);
      assert.equal(cast.incomplete, false);
      let out = '';
      for await (const item of readCast(await store.read(cast.relativePath))) if ('code' in item && item.code === 'o') out += item.data;
      assert.equal(out, chunk.toString().repeat(total));

      const notes: string[] = [];
      const capped = CastWriter.open(store, randomUUID(), new Date(), { cols: 80, rows: 24 }, { maxBytes: 256 * 1024, limitAction: 'truncate', onIncomplete: (r) => notes.push(r) });
      await capped.opened();
      for (let i = 0; i < 40; i++) capped.output(chunk);
      await capped.close();
      assert.deepEqual(notes, ['the recording reached its limit of 0.25 MiB; the rest of the session is not recorded']);
      const size = (await store.stat(capped.relativePath))!.size;
      assert.ok(size <= 256 * 1024 + 200, `${size} bytes`);
      const markers: string[] = [];
      for await (const item of readCast(await store.read(capped.relativePath))) if ('code' in item && item.code === 'm') markers.push(item.data);
      assert.deepEqual(markers, ['bastion: the recording reached its limit of 0.25 MiB; the rest of the session is not recorded']);
    });
  });
}

test('the directory store keeps recordings private: files 0600 in directories 0700', async () => {
  const store = new DirectoryRecordingStore(path.join(makeTempDir('bastion-store-'), 'recordings'));
  const name = recordingName(randomUUID(), new Date());
  await writeAll(store.create(name), [Buffer.from('{"version":2}\n')]);
  await store.buildSidecar(name, async (_c, out) => writeFileSync(out, 'x'));
  assert.equal(statSync(store.fileOf(name)).mode & 0o777, 0o600);
  assert.equal(statSync(`${store.fileOf(name)}.seg`).mode & 0o777, 0o600);
  for (let d = path.dirname(store.fileOf(name)); d !== path.dirname(store.dir); d = path.dirname(d)) assert.equal(statSync(d).mode & 0o777, 0o700, d);
});

test('the S3 store asks for server-side encryption on every object it writes, and is what BASTION_RECORDINGS_URL=s3:// opens', async () => {
  // A plain HTTP relay in front of s3rver (which accepts the header but keeps no record of it) notes what each request asked for.
  const seen: string[] = [];
  const relay = http.createServer((req, res) => {
    seen.push(`${req.method} ${String(req.url).split('?')[1]?.split('=')[0] ?? ''} ${req.headers['x-amz-server-side-encryption'] ?? '-'}`);
    const up = http.request(`${s3.endpoint}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const loc = { ...s3Location('sse'), endpoint: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`, sse: 'AES256' as const, partBytes: PART };
  const store = await openRecordingStore(loc);
  try {
    assert.equal(store.kind, 's3');
    assert.equal(store.location, 's3://bastion-recordings/sse');
    const name = recordingName(randomUUID(), new Date());
    await writeAll(store.create(name), [payload(3 * PART)]);
    await store.buildSidecar(name, async (_c, out) => writeFileSync(out, 'x'));
    assert.equal((await store.stat(name))?.size, 3 * PART);
    // Object-creating requests: the multipart upload's start, and PutObject (x-id=PutObject) of the manifest and the sidecar.
    const creating = seen.filter((l) => l.startsWith('POST uploads') || l.startsWith('PUT x-id'));
    assert.ok(creating.length >= 3, seen.join('\n'));
    for (const l of creating) assert.match(l, / AES256$/, l);
  } finally {
    store.close();
    relay.closeAllConnections();
    await new Promise((resolve) => relay.close(resolve));
  }
});

test('S3: the write that fills a part is acknowledged only once that part is in the bucket, so a crash loses at most one part', async () => {
  // Part 2 is held on its way to the bucket, as on a slow link.
  const relay = await startS3Relay(s3.endpoint, (n) => n === 2);
  const store = new S3RecordingStore({ ...s3Location(`hold-${randomUUID().slice(0, 8)}`), endpoint: relay.endpoint, partBytes: PART });
  try {
    const name = recordingName(randomUUID(), new Date());
    const w = store.create(name);
    w.on('error', () => undefined);
    const data = payload(3 * PART, 'held');
    const acked: number[] = [];
    for (let i = 0; i < data.length; i += 4096) w.write(data.subarray(i, i + 4096), () => acked.push(i + 4096));
    await relay.heldPart(2);
    // Everything up to part 2 is acknowledged, the write completing part 2 and all after it are not.
    await new Promise((r) => setImmediate(r));
    assert.equal(Math.max(...acked), 2 * PART - 4096);
    w.destroy();
    assert.equal(await store.recover(name), 'recovered');
    assert.equal((await store.stat(name))?.size, PART, 'part 1 is kept; part 2, the only one taken after it, is lost');
  } finally {
    relay.release();
    store.close();
    await relay.stop();
  }
});

test('an S3 store that stops answering mid-recording fails the recording: marked incomplete once, never silent, close() still returns', async () => {
  const own = await startS3rver();
  const loc = loadConfig(own.env('gone')).recordings;
  if (loc.kind !== 's3') throw new Error('not S3');
  const store = new S3RecordingStore({ ...loc, partBytes: PART });
  const notes: string[] = [];
  try {
    const cast = CastWriter.open(store, randomUUID(), new Date(), { cols: 80, rows: 24 }, { onIncomplete: (r) => notes.push(r) });
    await cast.opened();
    await own.stop();
    const chunk = payload(32 * 1024, 'gone');
    for (let i = 0; i < 16 && notes.length === 0; i++) {
      if (!cast.output(chunk)) await new Promise<void>((resolve) => cast.whenDrained(resolve));
    }
    await cast.close();
    assert.equal(cast.incomplete, true);
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /^the recording could not be written/);
  } finally {
    store.close();
  }
});
