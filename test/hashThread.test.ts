// The SHA-256 of exec transfer records, computed on a thread of its own (gateway/recording/
// hashThread.ts): the digest is the one of exactly the bytes given, however they were cut,
// and a thread that dies mid-stream never yields a wrong digest.
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BATCH_BYTES, HashThread, MAX_BATCHES_IN_FLIGHT } from '../gateway/recording/hashThread.ts';
import { TransferRecord } from '../gateway/recording/transferRecord.ts';
import { CastWriter } from '../gateway/recording/castWriter.ts';
import { DirectoryRecordingStore } from '../core/recordings/directoryStore.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';

after(cleanup);

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const MiB = 1024 * 1024;

/** A transfer recording's cast in a fresh directory, and the text of its last marker (the summary) once closed. */
async function transferCast(id: string): Promise<{ cast: CastWriter; summary: () => string }> {
  const store = new DirectoryRecordingStore(makeTempDir('bastion-hash-'));
  const cast = CastWriter.open(store, id, new Date(), { cols: 80, rows: 24 }, { header: { bastion: { record: 'transfer', keepBytes: 1024 } } });
  await cast.opened();
  const summary = (): string => {
    const events = readFileSync(store.fileOf(cast.relativePath), 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as [number, string, string]);
    return events.filter((e) => e[1] === 'm').at(-1)![2];
  };
  return { cast, summary };
}

/** Cuts `data` into chunks of the given lengths (cycled), 0-byte chunks included. */
function cut(data: Buffer, lengths: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let off = 0, i = 0; off < data.length || i === 0; i++) {
    const n = lengths[i % lengths.length]!;
    chunks.push(data.subarray(off, off + n));
    off += n;
    if (i > 100_000) throw new Error('cut: no progress');
  }
  return chunks;
}

async function digestOf(thread: HashThread, chunks: Buffer[]): Promise<{ hex: string | null; total: number }> {
  const s = thread.stream();
  for (const c of chunks) s.update(c);
  return { hex: await s.digest(), total: s.total };
}

describe('off-thread SHA-256 of exec streams', () => {
  const thread = new HashThread();
  after(() => thread.close());
  const data = randomBytes(9 * MiB + 123);

  test('gives the digest of exactly the bytes given, however they are cut (0-byte, small, batch-sized, > 4 MiB chunks)', async () => {
    const patterns: Array<[string, Buffer[]]> = [
      ['nothing at all', []],
      ['one empty chunk', [Buffer.alloc(0)]],
      ['one byte', [data.subarray(0, 1)]],
      ['32 KiB packets with empty chunks between', cut(data, [32 * 1024, 0])],
      ['odd sizes', cut(data, [1, 777, 65_536, 0, 4093])],
      ['exactly one batch', [data.subarray(0, BATCH_BYTES)]],
      ['one batch and one byte', [data.subarray(0, BATCH_BYTES), data.subarray(BATCH_BYTES, BATCH_BYTES + 1)]],
      ['one chunk of 9 MiB', [data]],
      ['5 MiB chunks', cut(data, [5 * MiB])],
    ];
    for (const [name, chunks] of patterns) {
      const whole = Buffer.concat(chunks);
      const got = await digestOf(thread, chunks);
      assert.equal(got.hex, sha256(whole), name);
      assert.equal(got.total, whole.length, name);
    }
  });

  test('keeps streams apart when their batches interleave, and the caller may reuse its buffer at once', async () => {
    const a = thread.stream();
    const b = thread.stream();
    const reused = Buffer.alloc(300 * 1024);
    const aBytes: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      reused.fill(i);
      a.update(reused);
      aBytes.push(Buffer.from(reused));
      b.update(data.subarray(i * 400_000, (i + 1) * 400_000));
    }
    const [ha, hb] = await Promise.all([a.digest(), b.digest()]);
    assert.equal(ha, sha256(Buffer.concat(aBytes)));
    assert.equal(hb, sha256(data.subarray(0, 8_000_000)));
  });

  test('a stream shorter than one batch never starts the thread', async () => {
    const idle = new HashThread();
    try {
      const got = await digestOf(idle, cut(data.subarray(0, BATCH_BYTES - 1), [4096]));
      assert.equal(got.hex, sha256(data.subarray(0, BATCH_BYTES - 1)));
      assert.equal(idle.started, 0);
      assert.equal(idle.running, false);
    } finally {
      await idle.close();
    }
  });

  test('a stream too far ahead of the thread says so, and hears when it has caught up', async () => {
    const s = thread.stream();
    // Synchronously, so the thread cannot have answered any batch yet.
    s.update(data.subarray(0, MAX_BATCHES_IN_FLIGHT * BATCH_BYTES));
    assert.equal(s.behind, true);
    await new Promise<void>((resolve) => s.whenCaughtUp(resolve));
    assert.equal(s.behind, false);
    assert.equal(await s.digest(), sha256(data.subarray(0, MAX_BATCHES_IN_FLIGHT * BATCH_BYTES)));
  });

  test('the thread stops once idle, and starts again for the next long stream', async () => {
    const t = new HashThread({ idleMs: 20 });
    try {
      assert.equal((await digestOf(t, [data])).hex, sha256(data));
      assert.equal(t.started, 1);
      for (let i = 0; i < 200 && t.running; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(t.running, false);
      assert.equal((await digestOf(t, [data.subarray(0, 2 * MiB)])).hex, sha256(data.subarray(0, 2 * MiB)));
      assert.equal(t.started, 2);
    } finally {
      await t.close();
    }
  });

  test('a thread that dies mid-stream: the streams it held get no digest (never a wrong one), the others are exact', async () => {
    const t = new HashThread();
    try {
      const held = t.stream();
      held.update(data.subarray(0, 3 * MiB));
      const short = t.stream();
      short.update(data.subarray(0, 1000));
      await t.kill();
      held.update(data.subarray(3 * MiB, 4 * MiB));
      short.update(data.subarray(1000, 2 * MiB));
      assert.equal(await held.digest(), null);
      assert.equal(held.total, 4 * MiB);
      // It had given the dead thread nothing: a new thread hashes it whole.
      assert.equal(await short.digest(), sha256(data.subarray(0, 2 * MiB)));
      assert.equal(t.started, 2);
    } finally {
      await t.close();
    }
  });

  test('after the gateway closed its thread, a stream hashes on the event loop and is still exact', async () => {
    const t = new HashThread();
    await t.close();
    const got = await digestOf(t, cut(data, [3 * MiB]));
    assert.equal(got.hex, sha256(data));
    assert.equal(t.started, 0);
  });

  test('an upload (stdin) too far ahead of the hashing thread asks its reader to wait, as stdout does, and hears when the record has caught up', async () => {
    const t = new HashThread();
    const { cast, summary } = await transferCast('c6e2b4d5-6a8f-4b1c-8d2e-3f4a5b6c7d8e');
    const rec = new TransferRecord(cast, 1024, t);
    try {
      // Synchronously, so the thread cannot have answered a batch yet: the last one makes it behind.
      const said: boolean[] = [];
      for (let i = 0; i < MAX_BATCHES_IN_FLIGHT; i++) said.push(rec.input(data.subarray(i * BATCH_BYTES, (i + 1) * BATCH_BYTES)));
      assert.deepEqual(said, [...Array<boolean>(MAX_BATCHES_IN_FLIGHT - 1).fill(true), false]);
      await new Promise<void>((resolve) => rec.whenDrained(resolve));
      assert.equal(rec.input(Buffer.from('more')), true);
      await rec.close();
    } finally {
      await t.close();
    }
    const sent = Buffer.concat([data.subarray(0, MAX_BATCHES_IN_FLIGHT * BATCH_BYTES), Buffer.from('more')]);
    assert.equal(summary(), `bastion: transfer: stdout 0 bytes sha256 ${sha256(Buffer.alloc(0))}; stderr 0 bytes sha256 ${sha256(Buffer.alloc(0))}; stdin ${sent.length} bytes sha256 ${sha256(sent)}`);
  });

  test('a transfer record whose hashing thread died says "unavailable", keeps the exact counts and is marked incomplete', async () => {
    const t = new HashThread();
    const { cast, summary } = await transferCast('b5d1a3c4-5f7e-4a0b-9c1d-2e3f4a5b6c7d');
    const incomplete: string[] = [];
    const rec = new TransferRecord(cast, 1024, t, (reason) => incomplete.push(reason));
    try {
      rec.output(data.subarray(0, 2 * MiB));
      rec.errorOutput(Buffer.from('warning\n'));
      await t.kill();
      rec.output(data.subarray(2 * MiB, 3 * MiB));
      await rec.close();
    } finally {
      await t.close();
    }
    assert.equal(summary(), `bastion: transfer: stdout ${3 * MiB} bytes sha256 unavailable; stderr 8 bytes sha256 ${sha256(Buffer.from('warning\n'))}; stdin 0 bytes sha256 ${sha256(Buffer.alloc(0))}`);
    assert.deepEqual(incomplete, ["the transfer's SHA-256 could not be computed (its hashing thread stopped)"]);
    assert.equal(rec.incomplete, true);
  });
});
