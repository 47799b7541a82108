// Moves bytes from one stream to another with backpressure both ways: when the reader
// is slow (write() returns false) the source is paused until 'drain', so a stalled
// operator or backend never makes the gateway buffer without bound.
import type { Readable, Writable } from 'node:stream';

export type Tap = (chunk: Buffer) => void;

/** Starts moving data; the returned function stops (and leaves the source paused). */
export function pump(src: Readable, dst: Writable, tap?: Tap): () => void {
  let waiting = false;
  const onDrain = (): void => {
    waiting = false;
    src.resume();
  };
  const onData = (chunk: Buffer): void => {
    tap?.(chunk);
    if (!dst.writable) return;
    if (!dst.write(chunk) && !waiting) {
      waiting = true;
      src.pause();
      dst.once('drain', onDrain);
    }
  };
  src.on('data', onData);
  src.resume();
  return () => {
    src.off('data', onData);
    dst.off('drain', onDrain);
    src.pause();
  };
}

/** Resolves once everything written to `dst` so far has left its buffer (or it closed). */
export function flushed(dst: Writable): Promise<void> {
  if (dst.writableLength === 0 || !dst.writable) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      dst.off('drain', done);
      dst.off('close', done);
      resolve();
    };
    dst.once('drain', done);
    dst.once('close', done);
  });
}
