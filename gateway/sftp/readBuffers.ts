// The buffers READ answers are read into, used again. A download through the gateway keeps
// megabytes of READs at the asset (in flight and read ahead), each answer in a buffer that
// lives until the client is sent it — long enough for V8 to move it to its old generation,
// where dead Buffers are freed only by a full collection: a 1 GiB scp download grew the
// gateway's RSS by 40–64 MiB. Buffers come back here once the answer has been copied into
// its SFTP packet, and the next READ of the same length takes one.
//
// A download's buffers live as long as its session, so they die in the old generation when it
// ends: every PuTTY download left ~3.3 MiB of dead ArrayBuffers that only a full collection
// frees, and every third session or so the garbage pacer asked for one (50–180 ms of the
// gateway's CPU in the bench's 64 MiB transfers, a third of what the transfer itself cost).
// So a session that ends hands its free buffers, zeroed, to the gateway's SpareReadBuffers,
// and the next session takes them from there before it allocates.

/** Free buffers kept per session at most; beyond, they are left to the garbage collector. */
export const MAX_FREE_BYTES = 4 * 1024 * 1024;

/** Spare buffers the gateway keeps between sessions at most: one download's read-ahead and READs in flight. */
export const MAX_SPARE_BYTES = 4 * 1024 * 1024;

/**
 * Free buffers by exact length, up to a byte bound: a session's own (ReadBuffers) and the
 * gateway's spares between sessions (SpareReadBuffers) are both one of these.
 */
class BufferPool {
  readonly #free = new Map<number, Buffer[]>();
  #bytes = 0;
  readonly #maxBytes: number;
  readonly #zero: boolean;

  /** `zero`: buffers are zeroed as they are put in (they may hold another operator's file). */
  constructor(maxBytes: number, { zero = false }: { zero?: boolean } = {}) {
    this.#maxBytes = maxBytes;
    this.#zero = zero;
  }

  /** Bytes kept now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** A kept buffer of exactly `length` bytes (all zeros if the pool zeroes), or null. */
  take(length: number): Buffer | null {
    const b = this.#free.get(length)?.pop();
    if (!b) return null;
    this.#bytes -= b.length;
    return b;
  }

  /** Keeps a buffer nothing else uses; beyond the bound it is left to the garbage collector. */
  put(b: Buffer): void {
    if (this.#bytes + b.length > this.#maxBytes) return;
    if (this.#zero) b.fill(0);
    let list = this.#free.get(b.length);
    if (!list) this.#free.set(b.length, (list = []));
    list.push(b);
    this.#bytes += b.length;
  }

  /** Empties the pool: what it kept, for the caller to pass on. */
  drain(): Buffer[] {
    const all = [...this.#free.values()].flat();
    this.#free.clear();
    this.#bytes = 0;
    return all;
  }
}

/**
 * The free buffers of sessions that ended, for the gateway's next sessions (one per gateway
 * process): zeroed as they come in, since the next session may be another operator's.
 */
export class SpareReadBuffers extends BufferPool {
  constructor(maxBytes = MAX_SPARE_BYTES) {
    super(maxBytes, { zero: true });
  }
}

export class ReadBuffers {
  readonly #free = new BufferPool(MAX_FREE_BYTES);
  readonly #spares: SpareReadBuffers | null;
  /** The session has ended: buffers given back now go to the spares. */
  #cleared = false;

  /** `spares`: where the free buffers go when the session ends, and where take() looks before it allocates. */
  constructor(spares: SpareReadBuffers | null = null) {
    this.#spares = spares;
  }

  /** A buffer of exactly `length` bytes, its content undefined. */
  take(length: number): Buffer {
    return this.#free.take(length) ?? this.#spares?.take(length) ?? Buffer.allocUnsafe(length);
  }

  /** Buffers from take() handed out as several views (a read-ahead span answers several READs), and how many are still out. */
  readonly #shared = new WeakMap<ArrayBufferLike, { whole: Buffer; out: number }>();

  /** `whole` (from take()) is handed out as `views` views: it is free once each of them was given back. */
  share(whole: Buffer, views: number): void {
    if (views > 1 && whole.byteOffset === 0 && whole.length === whole.buffer.byteLength) this.#shared.set(whole.buffer, { whole, out: views });
  }

  /** Gives back a buffer from take() that nothing refers to any more (a shorter view of one is left alone). */
  give(b: Buffer): void {
    const shared = this.#shared.get(b.buffer);
    if (shared) {
      if (--shared.out > 0) return;
      this.#shared.delete(b.buffer);
      b = shared.whole;
    }
    if (b.byteOffset !== 0 || b.length !== b.buffer.byteLength) return;
    // A READ that was still at the asset when the session ended.
    if (this.#cleared) this.#spares?.put(b);
    else this.#free.put(b);
  }

  /** The session has ended: its free buffers go to the spares (zeroed), and so do those given back later. */
  clear(): void {
    this.#cleared = true;
    for (const b of this.#free.drain()) this.#spares?.put(b);
  }
}
