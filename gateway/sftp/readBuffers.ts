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

  /** Gives back a buffer from take() that nothing refers to any more (a shorter view of one is left alone). */
  give(b: Buffer): void {
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
