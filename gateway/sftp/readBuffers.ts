// The buffers READ answers are read into, used again. A download through the gateway keeps
// megabytes of READs at the asset (in flight and read ahead), each answer in a buffer that
// lives until the client is sent it — long enough for V8 to move it to its old generation,
// where dead Buffers are freed only by a full collection: a 1 GiB scp download grew the
// gateway's RSS by 40–64 MiB. Buffers come back here once the answer has been copied into
// its SFTP packet, and the next READ of the same length takes one.

/** Free buffers kept per session at most; beyond, they are left to the garbage collector. */
export const MAX_FREE_BYTES = 4 * 1024 * 1024;

export class ReadBuffers {
  readonly #free = new Map<number, Buffer[]>();
  #freeBytes = 0;

  /** A buffer of exactly `length` bytes, its content undefined. */
  take(length: number): Buffer {
    const list = this.#free.get(length);
    const b = list?.pop();
    if (!b) return Buffer.allocUnsafe(length);
    this.#freeBytes -= b.length;
    return b;
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
    if (b.byteOffset !== 0 || b.length !== b.buffer.byteLength || this.#freeBytes + b.length > MAX_FREE_BYTES) return;
    let list = this.#free.get(b.length);
    if (!list) this.#free.set(b.length, (list = []));
    list.push(b);
    this.#freeBytes += b.length;
  }

  clear(): void {
    this.#free.clear();
    this.#freeBytes = 0;
  }
}
