// The proxy's pump: bytes move with backpressure from the destination and from a tap (the
// recording) — a tap that is behind pauses the source until it has caught up, and loses nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { BUDGET_BYTES, pump, SMALL_BURST_BYTES } from '../gateway/proxy/pump.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('a tap that is behind pauses the source until it drains; every byte still arrives, in order', async () => {
  const src = new PassThrough();
  const dst = new PassThrough();
  const arrived: string[] = [];
  dst.on('data', (c: Buffer) => arrived.push(c.toString()));
  const tapped: string[] = [];
  let behind = true;
  const held: { resume?: () => void } = {};
  const stop = pump(src, dst, (c) => {
    tapped.push(c.toString());
    return !behind;
  }, (fn) => { held.resume = fn; });
  src.write('one');
  await tick();
  src.write('two');
  src.write('three');
  await tick();
  await tick();
  // The tap said "wait" at the first chunk: the source is paused, nothing more is read.
  assert.deepEqual(tapped, ['one']);
  assert.deepEqual(arrived, ['one']);
  assert.ok(held.resume, 'the pump asked to be told when the tap has drained');
  behind = false;
  held.resume();
  await tick();
  await tick();
  assert.equal(tapped.join(''), 'onetwothree');
  assert.equal(arrived.join(''), 'onetwothree');
  stop();
});

/** A destination that keeps each write() as it came. */
function recordingSink(): { dst: Writable; writes: string[] } {
  const writes: string[] = [];
  const dst = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes.push(chunk.toString());
      cb();
    },
  });
  return { dst, writes };
}

test('chunks a source hands over in one callback reach the destination as one write, in order', async () => {
  const src = new PassThrough();
  const { dst, writes } = recordingSink();
  const tapped: string[] = [];
  const stop = pump(src, dst, (c) => { tapped.push(c.toString()); });
  // One burst, as ssh2 pushes the packets of one socket read.
  src.write('one ');
  src.write('two ');
  src.write('three');
  await tick();
  src.write('four');
  await tick();
  assert.deepEqual(writes, ['one two three', 'four']);
  // The tap still sees every chunk as it came.
  assert.deepEqual(tapped, ['one ', 'two ', 'three', 'four']);
  stop();
});

test('what the source handed over last is written before its end is acted on, and before stop() returns', async () => {
  const src = new PassThrough();
  const { dst, writes } = recordingSink();
  const stop = pump(src, dst);
  // As bridge() does: the operator's EOF ends the backend's input.
  src.on('end', () => dst.end());
  src.write('last words');
  src.end();
  await new Promise((resolve) => dst.once('finish', resolve));
  assert.deepEqual(writes, ['last words']);
  stop();

  const src2 = new PassThrough();
  const sink2 = recordingSink();
  const stop2 = pump(src2, sink2.dst);
  src2.write('in flight');
  // The session ends in the same callback (the backend's close came with its last output).
  stop2();
  assert.deepEqual(sink2.writes, ['in flight']);
});

test('a keystroke read after another session\'s bulk output is written before it; both arrive whole', async () => {
  const order: string[] = [];
  const sink = (name: string): Writable => new Writable({
    write(chunk: Buffer, _enc, cb) {
      order.push(`${name}:${chunk.length}`);
      cb();
    },
  });
  const bulkSrc = new PassThrough({ highWaterMark: 1024 * 1024 });
  const keySrc = new PassThrough();
  const stops = [pump(bulkSrc, sink('bulk')), pump(keySrc, sink('key'))];
  // One poll phase: a backend socket read of bulk output, then an operator's key.
  const big = Buffer.alloc(SMALL_BURST_BYTES + 1, 0x61);
  setImmediate(() => {
    bulkSrc.write(big.subarray(0, 4096));
    bulkSrc.write(big.subarray(4096));
    keySrc.write('x');
  });
  await tick();
  await tick();
  assert.deepEqual(order, ['key:1', `bulk:${big.length}`]);
  // A burst of up to SMALL_BURST_BYTES is not held back either.
  order.length = 0;
  setImmediate(() => {
    bulkSrc.write(big.subarray(0, SMALL_BURST_BYTES));
    keySrc.write('y');
  });
  await tick();
  await tick();
  assert.deepEqual(order, [`bulk:${SMALL_BURST_BYTES}`, 'key:1']);
  for (const stop of stops) stop();
});

test('a bulk burst still pending when the pump stops is written before stop() returns', () => {
  const src = new PassThrough({ highWaterMark: 1024 * 1024 });
  const { dst, writes } = recordingSink();
  const stop = pump(src, dst);
  src.write(Buffer.alloc(SMALL_BURST_BYTES * 2, 0x62));
  stop();
  assert.deepEqual(writes.map((w) => w.length), [SMALL_BURST_BYTES * 2]);
});

test('a source resumed with megabytes buffered (a paused channel holding its peer\'s window) is written a budget at a time, each after the last was taken, in order', async () => {
  const src = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
  const chunks = Array.from({ length: 64 }, (_, i) => Buffer.alloc(32 * 1024, i));
  for (const c of chunks) src.write(c);
  const got: Buffer[] = [];
  let mostQueued = 0;
  const dst: Writable = new Writable({
    highWaterMark: BUDGET_BYTES,
    write(chunk: Buffer, _enc, cb) {
      mostQueued = Math.max(mostQueued, dst.writableLength);
      got.push(chunk);
      setImmediate(cb);
    },
  });
  const stop = pump(src, dst);
  for (let i = 0; i < 400 && got.length < chunks.length; i++) await tick();
  assert.ok(Buffer.concat(got).equals(Buffer.concat(chunks)), 'every byte, in order');
  // Without the bound the whole 2 MiB buffer went to dst at once: what a channel whose peer's window is shut then queues.
  assert.ok(mostQueued <= BUDGET_BYTES, `${mostQueued} bytes queued at once`);
  // Packet-sized chunks go on as they came: joining them only copied every byte once more.
  assert.deepEqual(got.map((c) => c.length), chunks.map((c) => c.length));
  stop();
});
