// How much a stream of ssh2's may hold before it says "wait" (issue 13: the gateway's RSS flat
// during a transfer). ssh2 makes each channel's high-water marks its whole 2 MiB window, both
// ways, and takes no option for them: a channel whose reader has paused goes on refilling its
// peer's window until 2 MiB wait in it, and a channel whose peer's window is shut queues 2 MiB of
// writes before write() returns false. Bytes that wait that long outlive two young-generation
// collections (the garbage pacer asks for one every 2 MiB read) and die in V8's old generation,
// where only a full collection frees them: the RSS grows by tens of MiB during a bulk transfer.
// These lower the marks after construction; a stream whose internals differ is left as it is.

/** The node:stream state holding each side's high-water mark. */
type Side = '_readableState' | '_writableState';

function lowerMark(stream: unknown, side: Side, bytes: number): void {
  const state = (stream as Partial<Record<Side, { highWaterMark?: unknown }>>)[side];
  if (state && typeof state.highWaterMark === 'number') state.highWaterMark = Math.min(state.highWaterMark, bytes);
}

/** The readable side buffers at most about `bytes` before its source is asked to stop (ssh2: the window is not refilled). */
export function lowerReadBuffer(stream: unknown, bytes: number): void {
  lowerMark(stream, '_readableState', bytes);
}

/** write() returns false once `bytes` are queued (ssh2: while the peer's window is shut), so a pump pauses its source there. */
export function lowerWriteBuffer(stream: unknown, bytes: number): void {
  lowerMark(stream, '_writableState', bytes);
}

/** Resolves at the stream's next 'drain', or its 'close' (a closed stream never drains). */
export function drainOrClose(stream: NodeJS.EventEmitter): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
  });
}
