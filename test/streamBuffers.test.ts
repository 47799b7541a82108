// streamBuffers lowers a stream's high-water marks after construction (ssh2 takes no option for
// them), each side on its own, never raising one, and leaves a stream of another shape alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { lowerReadBuffer, lowerWriteBuffer } from '../gateway/streamBuffers.ts';

test('lowerReadBuffer and lowerWriteBuffer lower their own side only, never raise it, and pass over other shapes', () => {
  const s = new PassThrough({ highWaterMark: 2 * 1024 * 1024 });
  lowerReadBuffer(s, 64 * 1024);
  assert.deepEqual([s.readableHighWaterMark, s.writableHighWaterMark], [64 * 1024, 2 * 1024 * 1024]);
  lowerWriteBuffer(s, 256 * 1024);
  assert.deepEqual([s.readableHighWaterMark, s.writableHighWaterMark], [64 * 1024, 256 * 1024]);
  lowerReadBuffer(s, 1024 * 1024);
  lowerWriteBuffer(s, 1024 * 1024);
  assert.deepEqual([s.readableHighWaterMark, s.writableHighWaterMark], [64 * 1024, 256 * 1024], 'a larger value is not taken');
  // A write of more than the lowered mark is refused "wait" at once.
  assert.equal(s.write(Buffer.alloc(256 * 1024)), false);
  for (const other of [{}, { _readableState: {} }, { _writableState: { highWaterMark: 'x' } }]) {
    lowerReadBuffer(other, 1);
    lowerWriteBuffer(other, 1);
  }
});
