import type { Socket } from 'node:net';

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

interface Reader {
  readonly sock: Socket;
  /** Bytes handed over in the current turn. */
  used: number;
  /** Paused by the scheduler until its turn comes round again. */
  parked: boolean;
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

  constructor({ turnBytes = TURN_BYTES, bulkBytes = BULK_BYTES }: { turnBytes?: number; bulkBytes?: number } = {}) {
    this.#turnBytes = turnBytes;
    this.#bulkBytes = bulkBytes;
  }

  /** Puts a socket's reads under the scheduler; call before anything else listens for its data. */
  add(sock: Socket): void {
    const reader: Reader = { sock, used: 0, parked: false };
    // Ahead of ssh2's own listener, which it adds once the socket connects.
    sock.prependListener('data', (chunk: Buffer) => this.#read(reader, chunk.length));
    sock.once('close', () => this.#queue.delete(reader));
  }

  /** How many sockets wait for their turn (for tests and diagnostics). */
  get waiting(): number {
    return this.#queue.size;
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
