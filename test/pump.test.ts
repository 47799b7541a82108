// The proxy's pump: bytes move with backpressure from the destination and from a tap (the
// recording) — a tap that is behind pauses the source until it has caught up, and loses nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { pump } from '../gateway/proxy/pump.ts';

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
