// The bytes of one user's web file-manager uploads on their way to assets, together
// (BASTION_UPLOAD_IN_FLIGHT_MB_PER_USER). Each upload holds at most MAX_WRITE_BYTES (4 MiB) at
// the asset; without a bound per user, one user starting many uploads at once would hold that
// many times 4 MiB of this process's memory. Uploads beyond the budget are not refused: they wait
// (their request bodies paused) until the user's other uploads give bytes back.

export class UploadBudget {
  readonly #held = new Map<string, number>();
  readonly #waiting = new Map<string, Set<() => void>>();
  /** The most any one user held at once since this process started (tests, diagnostics). */
  maxHeldByOneUser = 0;

  constructor(readonly perUser: number) {}

  /**
   * Takes `n` bytes for the user when they fit. A user holding nothing may always take one piece,
   * so that an upload can never wait for bytes nobody holds.
   */
  take(userId: string, n: number): boolean {
    const held = this.#held.get(userId) ?? 0;
    if (held > 0 && held + n > this.perUser) return false;
    this.#held.set(userId, held + n);
    this.maxHeldByOneUser = Math.max(this.maxHeldByOneUser, held + n);
    return true;
  }

  /** Gives `n` bytes back (a WRITE was answered, or failed) and wakes the user's waiting uploads. */
  give(userId: string, n: number): void {
    const held = (this.#held.get(userId) ?? 0) - n;
    if (held > 0) this.#held.set(userId, held);
    else this.#held.delete(userId);
    const waiting = this.#waiting.get(userId);
    if (!waiting) return;
    this.#waiting.delete(userId);
    for (const wake of waiting) wake();
  }

  /** Calls `wake` once, at the user's next give; the returned function cancels it. */
  whenFreed(userId: string, wake: () => void): () => void {
    let set = this.#waiting.get(userId);
    if (!set) this.#waiting.set(userId, (set = new Set()));
    set.add(wake);
    return () => {
      const current = this.#waiting.get(userId);
      current?.delete(wake);
      if (current?.size === 0) this.#waiting.delete(userId);
    };
  }

  /** Bytes the user holds now. */
  heldBy(userId: string): number {
    return this.#held.get(userId) ?? 0;
  }
}
