// The SFTP proxy's read-ahead (gateway/sftp/readAhead.ts) on its own, against a file in
// memory standing in for the asset: what a client reading front to back is served, and how
// many READs the asset is sent for it. Through real clients: test/gateway.clients.test.ts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { READ_AHEAD_BYTES, READ_AHEAD_SESSION_BYTES, READ_AHEAD_START_BYTES, ReadAhead, ReadAheadBudget, ReadAheadPool, SPAN_BYTES, type ReadFn } from '../gateway/sftp/readAhead.ts';
import { ReadBuffers } from '../gateway/sftp/readBuffers.ts';

const L = 32 * 1024;

/** The asset: answers READs from `file` (short at its end), or fails them once `failAt` is reached. */
function asset(file: Buffer, failAt = Infinity): { read: ReadFn; reads: Array<[number, number]> } {
  const reads: Array<[number, number]> = [];
  const read: ReadFn = async (offset, length) => {
    reads.push([offset, length]);
    if (offset + length > failAt) throw new Error('EIO');
    return Buffer.from(file.subarray(offset, offset + length));
  };
  return { read, reads };
}

/**
 * A READ as the proxy hands it to the read-ahead (takeFor, with its own key): its data once
 * delivered, or null when it goes to the asset.
 */
function taken(ahead: ReadAhead, offset: number, length: number): Promise<Buffer | null> | null {
  const key = { offset, length };
  let delivered!: (d: Buffer | null) => void;
  const data = new Promise<Buffer | null>((resolve) => {
    delivered = resolve;
  });
  const served = ahead.takeFor(offset, length, key, (k, d) => {
    assert.equal(k, key, 'delivered with the key it was taken with');
    delivered(d);
  });
  return served ? data : null;
}

/** A client reading the whole file in READs of `L`, as the proxy serves them: read ahead, else from the asset. */
async function download(ahead: ReadAhead, read: ReadFn, size: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < size; offset += L) {
    const early = taken(ahead, offset, L);
    parts.push((early ? await early : null) ?? (await read(offset, L)));
  }
  return Buffer.concat(parts);
}

describe('SFTP read-ahead', () => {
  test('a file read front to back is served exactly, its end included, with the asset asked in spans', async () => {
    // Not a multiple of a span, nor of a READ: the last span is short and the last READ too.
    const size = 3 * 1024 * 1024 + 1000;
    const file = randomBytes(size);
    const a = asset(file);
    const budget = new ReadAheadBudget();
    const ahead = new ReadAhead(budget, a.read);
    assert.deepEqual(await download(ahead, a.read, size), file);
    const clientReads = Math.ceil(size / L);
    const spans = a.reads.filter(([, n]) => n === SPAN_BYTES).length;
    assert.ok(spans >= (size - 2 * SPAN_BYTES) / SPAN_BYTES, `${spans} span READs`);
    // The first READs (before the handle counts as sequential), the spans, and the end of the file.
    assert.ok(a.reads.length <= 3 + Math.ceil(clientReads / (SPAN_BYTES / L)) + 2, `${a.reads.length} READs of the asset for ${clientReads} of the client`);
    assert.ok(budget.stats.maxBytes <= READ_AHEAD_SESSION_BYTES);
    ahead.close();
    // Given back once each READ is back from the asset.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(budget.used, 0, 'every byte read ahead is given back to the budget');
  });

  test('the lead past the client\'s READs is READ_AHEAD_START_BYTES at first and grows to READ_AHEAD_BYTES as the file is read front to back', async () => {
    const size = 4 * READ_AHEAD_BYTES;
    const file = randomBytes(size);
    let clientAt = 0;
    /** The furthest byte asked of the asset past the client's READ, while the client was in its first READ_AHEAD_START_BYTES, and after 1.5 × READ_AHEAD_BYTES. */
    const lead = { early: 0, late: 0 };
    const read: ReadFn = async (offset, length) => {
      const ahead = offset + length - clientAt;
      if (clientAt < READ_AHEAD_START_BYTES) lead.early = Math.max(lead.early, ahead);
      else if (clientAt > 1.5 * READ_AHEAD_BYTES) lead.late = Math.max(lead.late, ahead);
      return Buffer.from(file.subarray(offset, offset + length));
    };
    const ahead = new ReadAhead(new ReadAheadBudget(), read);
    const parts: Buffer[] = [];
    for (clientAt = 0; clientAt < size; clientAt += L) {
      const early = taken(ahead, clientAt, L);
      parts.push((early ? await early : null) ?? (await read(clientAt, L)));
    }
    assert.deepEqual(Buffer.concat(parts), file);
    assert.ok(lead.early <= READ_AHEAD_START_BYTES + L, `early lead ${lead.early}`);
    assert.ok(lead.late > READ_AHEAD_START_BYTES + SPAN_BYTES && lead.late <= READ_AHEAD_BYTES + L, `late lead ${lead.late}`);
    ahead.close();
  });

  test('the asset\'s READ limit below a span caps the READs it is sent', async () => {
    const size = 1024 * 1024;
    const file = randomBytes(size);
    const a = asset(file);
    const ahead = new ReadAhead(new ReadAheadBudget(), a.read, undefined, 64 * 1024);
    assert.deepEqual(await download(ahead, a.read, size), file);
    assert.ok(a.reads.every(([, n]) => n <= 64 * 1024), `${JSON.stringify(a.reads.filter(([, n]) => n > 64 * 1024))}`);
  });

  test('a span READ that fails is not served: those READs go to the asset as they came', async () => {
    const size = 2 * 1024 * 1024;
    const file = randomBytes(size);
    // Spans reaching past 1 MiB fail; the client's own 32 KiB READs there fail too, up to 1.25 MiB.
    const failing = asset(file, 1024 * 1024);
    const ahead = new ReadAhead(new ReadAheadBudget(), failing.read);
    const served: Array<Buffer | 'EIO'> = [];
    for (let offset = 0; offset < 1024 * 1024 + 8 * L; offset += L) {
      const early = taken(ahead, offset, L);
      const got = early ? await early : null;
      served.push(got ?? (await failing.read(offset, L).catch(() => 'EIO' as const)));
    }
    served.forEach((d, i) => {
      if (i * L + L <= 1024 * 1024) assert.deepEqual(d, file.subarray(i * L, i * L + L), `READ ${i}`);
      else assert.equal(d, 'EIO', `READ ${i}`);
    });
    ahead.close();
  });

  test('the bytes of READs read ahead go back to the budget once the asset has answered them, not before', async () => {
    const file = randomBytes(1024 * 1024);
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => {
      answer = resolve;
    });
    const read: ReadFn = async (offset, length) => {
      await answered;
      return Buffer.from(file.subarray(offset, offset + length));
    };
    const budget = new ReadAheadBudget();
    const ahead = new ReadAhead(budget, read);
    // The third READ in a row starts reading ahead; the asset has not answered yet.
    for (let i = 0; i < 3; i++) taken(ahead, i * L, L);
    const asked = budget.used;
    assert.ok(asked > 0, 'read ahead');
    const served = taken(ahead, 3 * L, L);
    ahead.close();
    assert.equal(budget.used, asked, 'still at the asset: still counted');
    answer();
    assert.deepEqual(await served, file.subarray(3 * L, 4 * L));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(budget.used, 0);
  });

  test('the sessions of a process share one bound: while one holds it, another\'s READs go to the asset as they come, and it reads ahead again once that is given back (rule 13)', async () => {
    // A user's many sessions that each read a little and stop asking must not make the gateway
    // hold a session's worth of read-ahead apiece: all of them together hold the pool at most.
    const pool = new ReadAheadPool(READ_AHEAD_START_BYTES);
    const size = 2 * READ_AHEAD_BYTES;
    const fileA = randomBytes(size);
    const fileB = randomBytes(size);
    const a = asset(fileA);
    const b = asset(fileB);
    const budgetA = new ReadAheadBudget(pool);
    const budgetB = new ReadAheadBudget(pool);
    const aheadA = new ReadAhead(budgetA, a.read);
    const aheadB = new ReadAhead(budgetB, b.read);
    // A reads three READs front to back (read-ahead starts), then stops asking: its lead is the pool.
    for (let i = 0; i < 3; i++) {
      const early = taken(aheadA, i * L, L);
      if (early) await early;
    }
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(pool.used > pool.limit - SPAN_BYTES, `A holds the pool but less than a span (${pool.used})`);
    const heldByA = budgetA.used;
    // B downloads 1 MiB meanwhile: exact, with no READ of the asset beyond its own.
    const readsBefore = b.reads.length;
    const parts: Buffer[] = [];
    for (let offset = 0; offset < 1024 * 1024; offset += L) {
      const early = taken(aheadB, offset, L);
      parts.push((early ? await early : null) ?? (await b.read(offset, L)));
    }
    assert.deepEqual(Buffer.concat(parts), fileB.subarray(0, 1024 * 1024));
    assert.deepEqual(b.reads.slice(readsBefore).filter(([, n]) => n > L), [], 'B asked the asset for no span');
    assert.ok(budgetB.stats.maxBytes <= pool.limit - heldByA, `B read ahead ${budgetB.stats.maxBytes} bytes beside A's ${heldByA}`);
    assert.ok(pool.used <= pool.limit, `pool ${pool.used}`);
    // A's session ends: its bytes go back, and B's next READs are read ahead again.
    aheadA.close();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(pool.used, 0);
    for (let offset = 1024 * 1024; offset < 1024 * 1024 + 4 * L; offset += L) {
      const early = taken(aheadB, offset, L);
      assert.deepEqual((early ? await early : null) ?? (await b.read(offset, L)), fileB.subarray(offset, offset + L));
    }
    assert.ok(b.reads.some(([, n]) => n === SPAN_BYTES), 'B asks the asset in spans again');
    aheadB.close();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(pool.used, 0, 'every byte given back to the pool');
  });

  test('a span\'s buffer is used again only once every READ cut from it has been given back', () => {
    const buffers = new ReadBuffers();
    const span = buffers.take(7 * L);
    buffers.share(span, 7);
    const views = Array.from({ length: 7 }, (_, i) => span.subarray(i * L, (i + 1) * L));
    for (const v of views.slice(0, 6)) buffers.give(v);
    assert.notEqual(buffers.take(7 * L).buffer, span.buffer, 'one view still out: not free');
    buffers.give(views[6]!);
    assert.equal(buffers.take(7 * L).buffer, span.buffer, 'all back: the next READ of that length takes it');
  });
});
