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
 * Pausing on every write() that says "wait" would cost a tick per packet towards a socket-like
 * destination with a small high-water mark; the source is paused only once this much is queued.
 * ssh2 1.17's channels set their high-water mark to their 2 MiB window, so towards a channel
 * write() says "wait" only past 2 MiB; the asset's channels say it at 1 MiB (BACKEND_WRITE_BUFFER),
 * so an upload waits at the operator, not in the gateway, while the asset's window is shut. The
 * chunks of one callback are written once they reach it too: a source resumed with its buffer
 * full would otherwise hand it all over at once.
 */
export const BUDGET_BYTES = 256 * 1024;

/**
 * A burst up to this size (keys, their echo, a prompt, a screen redraw) is written at the end of
 * the callback that read it; a larger one (bulk output) at the end of the event loop's poll phase
 * (setImmediate). A keystroke read in the same poll phase as twenty sessions' bulk output then
 * goes on after their reads only, not after their encryption, recording and socket writes too
 * (issue 13 item 8: the echo waited twice per turn for those).
 */
export const SMALL_BURST_BYTES = 8 * 1024;

/**
 * Starts moving data; the returned function stops (and leaves the source paused).
 *
 * The small chunks a source hands over in one callback are written to `dst` joined (at the end of
 * that callback, process.nextTick: no added delay; see joinSmall). A backend's PTY output arrives as SSH packets of
 * about 4 KiB, sixteen to one 64 KiB socket read; written one by one, each became an SSH packet
 * of its own towards the operator (its padding drawn from the CSPRNG, its encryption, its socket
 * write): with 20 sessions streaming, the socket writes alone were 40% of the gateway's CPU.
 */
export function pump(src: Readable, dst: Writable, tap?: Tap, tapDrain?: TapDrain): () => void {
  let waiting = false;
  let tapWaiting = false;
  let stopped = false;
  /** Chunks read in this callback, not yet written. */
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** The source was paused because this callback's chunks and dst's queue reached the budget: it resumes once they are written. */
  let filling = false;
  const resumeIfFree = (): void => {
    if (!stopped && !waiting && !tapWaiting && !filling) src.resume();
  };
  const onDrain = (): void => {
    waiting = false;
    resumeIfFree();
  };
  const onTapDrain = (): void => {
    tapWaiting = false;
    resumeIfFree();
  };
  const flush = (): void => {
    if (pending.length === 0) return;
    const chunks = joinSmall(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    const full = filling;
    filling = false;
    if (!dst.writable) return;
    let free = true;
    for (const chunk of chunks) free = dst.write(chunk) && free;
    // write() false sets needDrain, so 'drain' follows once the queue is empty.
    if (!free && !waiting && !stopped && dst.writableLength >= BUDGET_BYTES) {
      waiting = true;
      src.pause();
      dst.once('drain', onDrain);
    } else if (full) resumeIfFree();
  };
  /** A flush is due (nextTick) or deferred to the poll phase's end (setImmediate). */
  let scheduled = false;
  const flushScheduled = (): void => {
    scheduled = false;
    flush();
  };
  const endOfCallback = (): void => {
    if (pendingBytes <= SMALL_BURST_BYTES) flushScheduled();
    else setImmediate(flushScheduled);
  };
  const onData = (chunk: Buffer): void => {
    if (tap?.(chunk) === false && tapDrain && !tapWaiting) {
      tapWaiting = true;
      src.pause();
      tapDrain(onTapDrain);
    }
    if (!scheduled) {
      scheduled = true;
      process.nextTick(endOfCallback);
    }
    pending.push(chunk);
    pendingBytes += chunk.length;
    // A source resumed with its buffer full (a paused channel holds its peer's whole window) hands
    // it all over in one callback: taken whole, it became one write that queued megabytes in dst.
    if (!filling && !waiting && pendingBytes + dst.writableLength >= BUDGET_BYTES) {
      filling = true;
      src.pause();
    }
  };
  src.on('data', onData);
  // Whoever acts on the source's end (bridge() ends the backend's input) must find its last bytes
  // written. Streams emit 'end' in a later tick than their last 'data', so the flush queued then
  // has run already; this keeps it so for a source that would emit it at once.
  src.prependListener('end', flush);
  src.resume();
  return () => {
    flush();
    stopped = true;
    src.off('data', onData);
    src.off('end', flush);
    dst.off('drain', onDrain);
    src.pause();
  };
}

/**
 * A chunk this large is written as it is: the packets it came in (an SSH channel's, at most
 * 32 KiB) are already as large as the packets ssh2 cuts a write into, so joining them copied
 * every byte of a bulk transfer once more for nothing — a garbage Buffer per callback, up to
 * the budget, that a queue behind a shut window kept alive long enough to reach V8's old
 * generation (issue 13: RSS flat during a transfer).
 */
export const JOIN_BELOW_BYTES = 16 * 1024;

/**
 * The largest SSH packet ssh2 cuts a write into: the most a channel's peer accepts in one packet,
 * 32 KiB from OpenSSH (CHAN_SES_PACKET_DEFAULT) and from ssh2 itself (PACKET_SIZE in
 * ssh2/lib/Channel.js, 1.17). A run of small chunks is joined up to it: one packet's worth.
 */
const SSH_PACKET_BYTES = 32 * 1024;

/** The chunks of one callback as they are written: runs of small ones joined (up to SSH_PACKET_BYTES), large ones as they came, in order. */
function joinSmall(chunks: Buffer[], total: number): Buffer[] {
  if (chunks.length === 1) return chunks;
  if (total < chunks.length * JOIN_BELOW_BYTES && total <= SSH_PACKET_BYTES) return [Buffer.concat(chunks, total)];
  const out: Buffer[] = [];
  let run: Buffer[] = [];
  let runBytes = 0;
  const endRun = (): void => {
    if (run.length > 0) out.push(run.length === 1 ? run[0]! : Buffer.concat(run, runBytes));
    run = [];
    runBytes = 0;
  };
  for (const c of chunks) {
    if (c.length >= JOIN_BELOW_BYTES) {
      endRun();
      out.push(c);
      continue;
    }
    run.push(c);
    runBytes += c.length;
    if (runBytes >= SSH_PACKET_BYTES) endRun();
  }
  endRun();
  return out;
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
