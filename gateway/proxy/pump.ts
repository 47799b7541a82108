// Moves bytes from one stream to another with backpressure both ways: when the reader
// is slow the source is paused until the destination drains, so a stalled operator or
// backend never makes the gateway buffer more than BUDGET_BYTES per direction.
import type { Readable, Writable } from 'node:stream';

/**
 * Reads each chunk before it moves on. A tap that returns false is behind (the recording's
 * disk): the source is paused until the tap's `drained` callback fires, so the session
 * slows down instead of the tap losing bytes.
 */
export type Tap = (chunk: Buffer) => boolean | void;

/** How a tap that returned false says it has caught up. */
export type TapDrain = (resume: () => void) => void;

/**
 * ssh2 channels keep Node's default 16 KiB high-water mark, so write() says "wait" after
 * nearly every 32 KiB packet; pausing on each of those costs a tick per packet. The source
 * is paused only once this much is queued, which still bounds memory per session.
 */
export const BUDGET_BYTES = 256 * 1024;

/** Starts moving data; the returned function stops (and leaves the source paused). */
export function pump(src: Readable, dst: Writable, tap?: Tap, tapDrain?: TapDrain): () => void {
  let waiting = false;
  let tapWaiting = false;
  let stopped = false;
  const resumeIfFree = (): void => {
    if (!stopped && !waiting && !tapWaiting) src.resume();
  };
  const onDrain = (): void => {
    waiting = false;
    resumeIfFree();
  };
  const onTapDrain = (): void => {
    tapWaiting = false;
    resumeIfFree();
  };
  const onData = (chunk: Buffer): void => {
    if (tap?.(chunk) === false && tapDrain && !tapWaiting) {
      tapWaiting = true;
      src.pause();
      tapDrain(onTapDrain);
    }
    if (!dst.writable) return;
    // write() false sets needDrain, so 'drain' follows once the queue is empty.
    if (!dst.write(chunk) && !waiting && dst.writableLength >= BUDGET_BYTES) {
      waiting = true;
      src.pause();
      dst.once('drain', onDrain);
    }
  };
  src.on('data', onData);
  src.resume();
  return () => {
    stopped = true;
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
      dst.off('close', done);
      resolve();
    };
    dst.once('close', done);
    // An empty write completes after every write queued before it.
    dst.write(Buffer.alloc(0), done);
  });
}
