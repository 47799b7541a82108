import type { Socket } from 'node:net';
import { wrapWrite } from './writeBatch.ts';

/**
 * What all the gateway's sockets together may hand over in one turn of the event loop before
 * the bulk ones wait for a later turn: one libuv read. Each 64 KiB read costs the SSH
 * decryption, the re-encryption towards the other side and the recording, about half a
 * millisecond of CPU, and on a host whose cores are all busy the gateway is preempted every
 * ~50 µs it runs (by the readers its writes wake), so a turn takes about twice its CPU; a
 * keystroke that arrives meanwhile is read in the next turn. Beside 20 bulk shells, 64 KiB
 * instead of 128 KiB took the gateway's echo p95 from a median of 10.7 ms to 7.6 ms (12
 * alternated runs each, bench/interactive.ts) and its event loop's p95 delay from 2.1–2.8 ms
 * to 1.4–2.1 ms, with the same bulk throughput.
 */
export const TURN_BYTES = 64 * 1024;

/**
 * A socket that has handed over this much in the current turn is moving bulk data and may be
 * made to wait; below it (keystrokes, their echoes, window adjusts, a prompt) it never waits.
 */
export const BULK_BYTES = 32 * 1024;

/** One libuv read: what a socket let go for a turn will hand over at least. */
const READ_BYTES = 64 * 1024;

/**
 * A socket streaming at least STREAM_BYTES per STREAM_WINDOW_MS (3.2 MB/s) is streaming for
 * STREAM_MEMORY_MS after; below that rate (keystrokes, echoes, a screen redraw, `top`) it never
 * is. A backend's PTY output comes as SSH packets of ~4 KiB.
 */
const STREAM_WINDOW_MS = 20;
const STREAM_BYTES = 64 * 1024;
const STREAM_MEMORY_MS = 50;

/**
 * A streaming socket whose read brought less than this is held: not read for HOLD_MS, so that
 * its next read takes what arrived meanwhile in one go instead of a packet at a time.
 */
export const HOLD_BELOW_BYTES = 16 * 1024;
export const HOLD_MS = 5;

/**
 * Small reads in a row before a hold. A file transfer's stream reads 64 KiB at a time with now
 * and then a short one (the tail of a packet): held on each, a pscp download's asset socket sat
 * unread 15–90 ms a second. Output that trickles is small read after read.
 */
const SMALL_IN_A_ROW = 2;

/**
 * A socket something was sent on this recently is not held: it is answering (an SFTP request
 * to the asset, a keystroke's echo), and a hold would delay the answer by HOLD_MS. PuTTY's
 * downloads through the gateway met 2–4 holds each, at their end (the asset's last DATA
 * answers and STATUSes were small reads in a row on a socket still counted as streaming), and
 * the answers then waited 4.5–8 ms. A socket streaming PTY output is written to only for
 * keystrokes and window adjusts (one per MiB of output).
 */
const ANSWERING_MS = 20;

interface Reader {
  readonly sock: Socket;
  /** Bytes handed over in the current turn. */
  used: number;
  /** Paused by the scheduler until its turn comes round again, or held. */
  parked: boolean;
  /** When the socket's current rate window began (Date.now()), and the bytes it has read in it. */
  windowStart: number;
  windowBytes: number;
  /** Streaming (may be held) until then. */
  streamingUntil: number;
  /** Reads in a row that brought less than HOLD_BELOW_BYTES. */
  smallInARow: number;
  /** Held (not read for HOLD_MS). */
  held: boolean;
  /** Something was sent on the socket since its last read. */
  wrote: boolean;
  /** When it was last seen that something had been sent (Date.now() at the read after the write: no clock read per write). */
  wroteAt: number;
}

interface StreamHandle {
  reading: boolean;
  readStart(): number;
  readStop(): number;
}

/**
 * The socket's libuv handle, for reads that really stop. Pausing a net.Socket only stops its
 * 'data' events: libuv goes on reading into the stream's buffer, a chunk per packet, until the
 * buffer reaches its high-water mark. Node's own Socket#pause stops the handle this way for
 * sockets read into a buffer of their own (`onread`); test/fairReads.test.ts fails if a Node
 * release changes the handle's shape or meaning.
 */
function handleOf(sock: Socket): StreamHandle | null {
  const h = (sock as unknown as { _handle?: Partial<StreamHandle> | null })._handle;
  return h && typeof h.readStop === 'function' && typeof h.readStart === 'function' && typeof h.reading === 'boolean' ? (h as StreamHandle) : null;
}

/**
 * Interactive traffic first (issue 13 item 8). libuv reads a ready socket up to 32 times in a
 * row (2 MiB) before it looks at any other, and the work those bytes cause runs in that same
 * turn; twenty sessions streaming output then make every turn tens of milliseconds long, and a
 * keystroke waits that long twice (operator → backend, echo → operator).
 *
 * So one scheduler per gateway sees every socket's reads. Once TURN_BYTES have been handed over
 * in a turn, each socket that has itself moved BULK_BYTES is paused and queued; at the turn's
 * end (setImmediate, after the poll phase) the queue is woken in arrival order, only as many as
 * one turn's budget holds. Bulk sockets thus take turns a few at a time, round-robin, while a
 * socket that carries little is never paused and is read in the very next turn. Throughput is
 * not capped: a socket alone is woken again every turn.
 *
 * A socket streaming output (PTY output: packets of ~4 KiB, each a read of its own while the
 * gateway keeps up) is also held once reads bring little (SMALL_IN_A_ROW in a row): its reads
 * stop for HOLD_MS and the next one takes the packets that arrived meanwhile. Beside twenty
 * bulk shells three reads in four were under 8 KiB; each read costs a system call, a wake-up of the gateway, a turn of
 * the event loop and, at the end of its callback, an encryption and a socket write that wakes
 * the operator's client. Held, the gateway read about half as often (its reads averaged
 * 12–19 KiB instead of 5–12) and slept between them instead of waking for each packet. Beside
 * twenty bulk shells (bench/interactive.ts, 5 and 6 alternated runs, load 14–28) its keystroke
 * echo p95 went from a median of 26.7 ms to 19.2 ms, the direct route's from 25 to 9.9 ms (the
 * operators' clients are woken less often too), its event loop's use from 0.87–0.93 to
 * 0.72–0.86, its preemptions from 4.9–8.2k/s to 3.4–5.4k/s, bulk throughput unchanged. The
 * bytes wait in the kernel's socket buffer meanwhile (HOLD_MS at most); a keystroke's socket
 * never streams and is never held.
 */
export class ReadTurns {
  readonly #turnBytes: number;
  readonly #bulkBytes: number;
  #spent = 0;
  #turnScheduled = false;
  /** Sockets that read in this turn (their `used` is reset at its end). */
  #touched: Reader[] = [];
  /** Parked sockets in the order they were parked: a Set keeps insertion order and deletes in O(1). */
  readonly #queue = new Set<Reader>();
  /** Sockets put under the scheduler and not yet closed (for tests and diagnostics). */
  #watching = 0;

  readonly #holdMs: number;
  readonly #answeringMs: number;
  /** Held sockets, all let go by one timer. */
  #held: Reader[] = [];
  #holdTimer: NodeJS.Timeout | null = null;

  constructor({ turnBytes = TURN_BYTES, bulkBytes = BULK_BYTES, holdMs = HOLD_MS, answeringMs = ANSWERING_MS }: { turnBytes?: number; bulkBytes?: number; holdMs?: number; answeringMs?: number } = {}) {
    this.#turnBytes = turnBytes;
    this.#bulkBytes = bulkBytes;
    this.#holdMs = holdMs;
    this.#answeringMs = answeringMs;
  }

  get watching(): number {
    return this.#watching;
  }

  /** Puts a socket's reads under the scheduler; call before anything else listens for its data. */
  add(sock: Socket): void {
    this.#watching++;
    const reader: Reader = { sock, used: 0, parked: false, windowStart: 0, windowBytes: 0, streamingUntil: 0, smallInARow: 0, held: false, wrote: false, wroteAt: 0 };
    // Ahead of ssh2's own listener, which it adds once the socket connects.
    sock.prependListener('data', (chunk: Buffer) => this.#read(reader, chunk.length));
    sock.once('close', () => {
      this.#watching--;
      this.#queue.delete(reader);
    });
    // Something sent on the socket awaits an answer (ANSWERING_MS): a held socket is let go at once.
    const letGo = (): void => this.#letGoOne(reader);
    wrapWrite(sock, (write) => function answerAwaited(this: Socket, ...args: Parameters<Socket['write']>): boolean {
      reader.wrote = true;
      if (reader.held) letGo();
      return write.apply(this, args);
    } as Socket['write']);
  }

  /** How many sockets wait for their turn (for tests and diagnostics). */
  get waiting(): number {
    return this.#queue.size;
  }

  /** How many sockets are held (for tests and diagnostics). */
  get holding(): number {
    return this.#held.length;
  }

  #read(reader: Reader, bytes: number): void {
    if (reader.used === 0) this.#touched.push(reader);
    reader.used += bytes;
    this.#spent += bytes;
    if (!this.#turnScheduled) {
      this.#turnScheduled = true;
      setImmediate(this.#endTurn);
    }
    if (!reader.parked && this.#spent >= this.#turnBytes && reader.used >= this.#bulkBytes) {
      // This chunk is still delivered; libuv stops reading once the paused stream's buffer is full.
      reader.parked = true;
      reader.sock.pause();
      this.#queue.add(reader);
    }
    if (this.#holdMs > 0) this.#holdIfTrickling(reader, bytes);
  }

  #holdIfTrickling(reader: Reader, bytes: number): void {
    const now = Date.now();
    if (reader.wrote) {
      reader.wrote = false;
      reader.wroteAt = now;
    }
    if (now - reader.windowStart >= STREAM_WINDOW_MS) {
      reader.windowStart = now;
      reader.windowBytes = 0;
    }
    reader.windowBytes += bytes;
    if (reader.windowBytes >= STREAM_BYTES) reader.streamingUntil = now + STREAM_MEMORY_MS;
    if (bytes >= HOLD_BELOW_BYTES) {
      reader.smallInARow = 0;
      return;
    }
    reader.smallInARow++;
    if (reader.parked || now >= reader.streamingUntil || reader.smallInARow < SMALL_IN_A_ROW || now - reader.wroteAt < this.#answeringMs) return;
    reader.smallInARow = 0;
    const handle = handleOf(reader.sock);
    if (!handle) return;
    reader.parked = true;
    reader.held = true;
    reader.sock.pause();
    if (handle.reading) {
      handle.reading = false;
      handle.readStop();
    }
    this.#held.push(reader);
    this.#holdTimer ??= setTimeout(this.#letGo, this.#holdMs);
  }

  readonly #letGo = (): void => {
    this.#holdTimer = null;
    const held = this.#held;
    this.#held = [];
    for (const reader of held) this.#readAgain(reader);
  };

  /** Lets one held socket go before the others (something is sent on it). */
  #letGoOne(reader: Reader): void {
    const i = this.#held.indexOf(reader);
    if (i >= 0) this.#held.splice(i, 1);
    if (this.#held.length === 0 && this.#holdTimer) {
      clearTimeout(this.#holdTimer);
      this.#holdTimer = null;
    }
    this.#readAgain(reader);
  }

  #readAgain(reader: Reader): void {
    reader.held = false;
    reader.parked = false;
    if (reader.sock.destroyed) return;
    // resume() alone would not start the handle again: the stream still counts a read in progress.
    const handle = handleOf(reader.sock);
    if (handle && !handle.reading) {
      handle.reading = true;
      if (handle.readStart() !== 0) {
        reader.sock.destroy(new Error('could not read from the socket again'));
        return;
      }
    }
    reader.sock.resume();
  }

  // setImmediate runs after every socket callback of the current poll phase: the turn's end.
  readonly #endTurn = (): void => {
    this.#turnScheduled = false;
    this.#spent = 0;
    for (const reader of this.#touched) reader.used = 0;
    this.#touched = [];
    let credit = this.#turnBytes;
    for (const reader of this.#queue) {
      if (credit <= 0) break;
      this.#queue.delete(reader);
      reader.parked = false;
      if (reader.sock.destroyed) continue;
      reader.sock.resume();
      credit -= READ_BYTES;
    }
    // Those still queued are woken at the end of the next turn, however quiet it is.
    if (this.#queue.size > 0 && !this.#turnScheduled) {
      this.#turnScheduled = true;
      setImmediate(this.#endTurn);
    }
  };
}
