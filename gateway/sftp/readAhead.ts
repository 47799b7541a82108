// Read-ahead for files read front to back. Every READ through the gateway costs the client
// the round trip to the asset and back; a client that keeps a fixed amount in flight
// (PuTTY's pscp and psftp: 1 MiB of 32 KiB READs) is then limited by that round trip, and
// downloaded 0.79× as fast as through an OpenSSH ProxyJump host, which forwards bytes as they
// come. Once a handle has been read sequentially, the gateway asks the asset for the next
// READs of the same length before the client does (up to READ_AHEAD_BYTES past the client's
// furthest request), and answers the client's READ with the data already here.
//
// The asset is asked in spans: one READ of up to SPAN_BYTES answers the next several client
// READs (seven of PuTTY's 32 KiB), so each client READ no longer costs the gateway a request
// to build, a socket write and an answer to parse on the asset's side (issue 13: pscp/psftp
// downloads were 0.46-0.66× ProxyJump with the gateway busy in those).
//
// What the client receives is the asset's answer for the same bytes (same offset, same
// length: its slice of a span READ sent a little earlier). Only handles opened for reading alone get read-ahead, and any
// request that may change a file (WRITE, an OPEN for writing, SETSTAT, REMOVE, RENAME, …)
// throws away everything read ahead in the session when it goes to the asset and again when it
// is answered, and nothing is read ahead or served in between (`beginChange`/`endChange`), so
// data read ahead is always newer than every change sent before the client's READ. Anything unusual — a short
// answer (the end of the file), an error, a READ at another offset or of another length — is
// not served from here: the READ goes to the asset as it came.

/**
 * Bytes read ahead per handle beyond the client's furthest READ, once it has read that much
 * front to back (before, READ_AHEAD_START_BYTES: a small file is not asked for spans far past
 * its end). With 2 MiB throughout, half of PuTTY's READs (50-54% in pscp/psftp downloads at
 * load 6-7) came before the asset had answered the span that holds them and waited for it: on a
 * busy host the asset's sshd and sftp-server are woken late, and 2 MiB is ~10 ms of a PuTTY
 * download. With 4 MiB, 27-30% waited (same runs, alternated).
 */
export const READ_AHEAD_BYTES = 4 * 1024 * 1024;
/** The lead while the handle has been read front to back for less than READ_AHEAD_BYTES: twice PuTTY's 1 MiB in flight. */
export const READ_AHEAD_START_BYTES = 2 * 1024 * 1024;
/** Bytes read ahead per session, over all its handles: the gateway's memory bound for it. */
export const READ_AHEAD_SESSION_BYTES = 6 * 1024 * 1024;
/**
 * Bytes read ahead by all the sessions of one gateway process together (DESIGN rule 13). A
 * session's own bound does not bound a user: one who opens 64 SFTP sessions (the per-user session
 * limit), reads a little of a file in each and then stops asking, has the gateway hold 64 × 6 MiB
 * read ahead for as long as the sessions stay open; a few such users, gigabytes. Past this, READs
 * go to the asset as they come (correct, only slower) until read-ahead is given back. Ten
 * downloads at once still have a whole session's worth each.
 */
export const READ_AHEAD_PROCESS_BYTES = 64 * 1024 * 1024;
/** Consecutive sequential READs of one length before reading ahead starts. */
const SEQUENTIAL_READS = 2;
/** The longest READ sent to the asset while reading ahead: 7 × 32 KiB, under OpenSSH sftp-server's 255 KiB. */
export const SPAN_BYTES = 224 * 1024;

/**
 * One READ of the asset, as the proxy sends it: the data, shorter at the end of the file.
 * `parts`: how many client READs the answer is cut into (each given back to `recycle` or served).
 */
export type ReadFn = (offset: number, length: number, parts?: number) => Promise<Buffer>;

/** What all the sessions of a process may hold read ahead together (READ_AHEAD_PROCESS_BYTES). */
export class ReadAheadPool {
  /** Bytes asked for or held, over every session drawing on this pool. */
  used = 0;
  constructor(readonly limit: number = READ_AHEAD_PROCESS_BYTES) {}
}

/** The gateway process's pool: every SFTP session in the process draws on it. */
const processPool = new ReadAheadPool();

/** What all the handles of one session share: the byte budget, the changes under way, the statistics. */
export class ReadAheadBudget {
  #used = 0;
  readonly stats = { hits: 0, misses: 0, discardedBytes: 0, maxBytes: 0 };

  constructor(private readonly pool: ReadAheadPool = processPool) {}

  /** Bytes asked for or held, over all handles; the process's pool counts them too. */
  get used(): number {
    return this.#used;
  }

  set used(bytes: number) {
    this.pool.used += bytes - this.#used;
    this.#used = bytes;
  }

  /** Bytes this session may still read ahead: its own bound or the process's, whichever is nearer. */
  get room(): number {
    return Math.min(READ_AHEAD_SESSION_BYTES - this.#used, this.pool.limit - this.pool.used);
  }
  /** Requests that may change a file, sent to the asset and not yet answered. */
  #changing = 0;
  readonly #handles = new Set<ReadAhead>();

  /** While a change is under way nothing is read ahead, and nothing read ahead is served. */
  get paused(): boolean {
    return this.#changing > 0;
  }

  /**
   * A request that may change a file goes to the asset now: what was read ahead before it is
   * thrown away, and nothing is read ahead until `endChange` (its answer), when what was read
   * meanwhile is thrown away too.
   */
  beginChange(): void {
    this.#changing++;
    this.#dropAll();
  }

  endChange(): void {
    this.#changing--;
    this.#dropAll();
  }

  /** @internal */
  track(h: ReadAhead, on: boolean): void {
    if (on) this.#handles.add(h);
    else this.#handles.delete(h);
  }

  #dropAll(): void {
    for (const h of this.#handles) h.drop();
  }
}

/** One READ of the asset read ahead, answering `parts` client READs of `length` bytes each. */
interface Span {
  /** The data, or null when it failed. */
  answer: Promise<Buffer | null>;
  parts: number;
  length: number;
  /** The answer is back: released chunks give their bytes back to the budget at once. */
  settled: boolean;
  /** Bytes of released chunks waiting for the answer before they go back to the budget. */
  held: number;
  /** The answer once back (null: failed). */
  data: Buffer | null;
  /** Client READs taken before the answer was back, served when it is. */
  waiting: Served<unknown>[];
}

/** Where a taken READ's data goes (takeFor): `deliver(key, data)`, one function for all READs. */
interface Served<K> {
  key: K;
  index: number;
  deliver: (key: K, data: Buffer | null) => void;
}

/**
 * A client READ's part of a span. Kept small and free of promises: a chunk lives until the
 * client asks for it (megabytes later), long enough for V8 to move it to its old generation,
 * and the promises made for each one there made the gateway's heap grow ~0.8 KiB per READ
 * until a full collection; a READ taken before its span is back waits as a small record in the span (Served).
 */
interface Chunk {
  span: Span;
  /** Which of the span's parts. */
  index: number;
  released: boolean;
}

/** A part's data: the span's answer cut, or null when the span does not cover it whole (the end of the file, an error). */
function partOf(d: Buffer | null, span: Span, index: number): Buffer | null {
  const { parts, length } = span;
  if (!d || d.length < (index + 1) * length) return null;
  return parts === 1 ? d : d.subarray(index * length, (index + 1) * length);
}

export class ReadAhead {
  readonly #budget: ReadAheadBudget;
  readonly #read: ReadFn;
  readonly #recycle: (data: Buffer) => void;
  readonly #chunks = new Map<number, Chunk>();
  /** Where the next sequential READ starts, and its length. */
  #expect = -1;
  #length = 0;
  #streak = 0;
  /** Where the client's current run of sequential READs began. */
  #runStart = 0;
  /** The end of the furthest READ, the client's or ours. */
  #front = 0;
  /** An answer was short (the end of the file) or failed: nothing more is read ahead until the client reads elsewhere. */
  #stopped = false;
  #closed = false;

  /** The longest READ the asset is sent (its own limit, when lower than SPAN_BYTES). */
  readonly #span: number;

  /** `recycle` takes back the data of READs read ahead and never served; `maxRead` is the asset's longest READ. */
  constructor(budget: ReadAheadBudget, read: ReadFn, recycle: (data: Buffer) => void = () => undefined, maxRead = SPAN_BYTES) {
    this.#budget = budget;
    this.#read = read;
    this.#recycle = recycle;
    this.#span = Math.min(SPAN_BYTES, maxRead);
    budget.track(this, true);
  }

  /**
   * The client's READ, when it is sent on (in order with the session's other requests): true
   * when it is served from what was read ahead for exactly this offset and length, and then
   * `deliver(key, data)` gets the data (or null: send the READ to the asset) — at once if the
   * span is back; false to send it to the asset now. Reads further ahead when the handle is
   * being read front to back. No promise per READ: one and its closures were most of what each
   * READ left in V8's old generation (sftpProxy.ts, ReadSlot).
   */
  takeFor<K>(offset: number, length: number, key: K, deliver: (key: K, data: Buffer | null) => void): boolean {
    if (this.#closed) return false;
    const sequential = offset === this.#expect && length === this.#length;
    if (sequential) this.#streak++;
    else {
      this.drop();
      this.#streak = 0;
      this.#stopped = false;
      this.#runStart = offset;
    }
    this.#expect = offset + length;
    this.#length = length;
    this.#front = Math.max(this.#front, this.#expect);
    if (this.#budget.paused) return false;
    const reading = this.#streak >= SEQUENTIAL_READS;
    const chunk = this.#chunks.get(offset);
    let served = false;
    if (chunk && chunk.span.length === length) {
      this.#chunks.delete(offset);
      this.#release(chunk);
      const { span, index } = chunk;
      if (span.settled) deliver(key, partOf(span.data, span, index));
      // Stored without its key's type: deliver gets back the key it was given with.
      else span.waiting.push({ key, index, deliver } as unknown as Served<unknown>);
      served = true;
      this.#budget.stats.hits++;
    } else if (reading) {
      this.#budget.stats.misses++;
    }
    if (reading) this.#fill();
    return served;
  }

  /** Forgets what was read ahead (the bytes go back to the budget as their READs come back). */
  drop(): void {
    for (const c of this.#chunks.values()) {
      const { span, index } = c;
      void span.answer.then((whole) => {
        const d = partOf(whole, span, index);
        this.#budget.stats.discardedBytes += d?.length ?? 0;
        if (d) this.#recycle(d);
      });
      this.#release(c);
    }
    this.#chunks.clear();
    this.#front = this.#expect;
  }

  close(): void {
    this.#closed = true;
    this.drop();
    this.#budget.track(this, false);
  }

  /** Gives a chunk's bytes back to the budget once its span's READ is back (now, if it is). */
  #release(c: Chunk): void {
    if (c.released) return;
    c.released = true;
    if (c.span.settled) this.#budget.used -= c.span.length;
    else c.span.held += c.span.length;
  }

  #fill(): void {
    const budget = this.#budget;
    const length = this.#length;
    // A whole span at a time: the client's READs free room one by one, and a READ of the asset
    // for each would undo the point of spans. Less only when the bounds never allow a whole span,
    // or when nothing at all is read ahead for this handle (the session's budget is elsewhere).
    const whole = Math.max(1, Math.min(Math.floor(this.#span / length), Math.floor(READ_AHEAD_BYTES / length), Math.floor(READ_AHEAD_SESSION_BYTES / length)));
    for (;;) {
      const lead = Math.min(READ_AHEAD_BYTES, Math.max(READ_AHEAD_START_BYTES, this.#expect - this.#runStart));
      const byLead = Math.floor((lead - (this.#front - this.#expect)) / length);
      const byBudget = Math.floor(budget.room / length);
      const n = Math.min(whole, byLead, byBudget);
      if (this.#stopped || n < 1 || (n < whole && this.#chunks.size > 0)) return;
      const start = this.#front;
      this.#front += n * length;
      budget.used += n * length;
      budget.stats.maxBytes = Math.max(budget.stats.maxBytes, budget.used);
      const answer = this.#read(start, n * length, n).then(
        (d) => {
          if (d.length < n * length) this.#stopped = true;
          return d;
        },
        () => {
          this.#stopped = true;
          return null;
        },
      );
      const span: Span = { answer, parts: n, length, settled: false, held: 0, data: null, waiting: [] };
      void answer.then((d) => {
        span.settled = true;
        span.data = d;
        budget.used -= span.held;
        span.held = 0;
        const waiting = span.waiting;
        span.waiting = [];
        for (const w of waiting) w.deliver(w.key, partOf(d, span, w.index));
      });
      // A READ the span does not cover whole (the end of the file, an error) goes to the asset as it came.
      for (let i = 0; i < n; i++) this.#chunks.set(start + i * length, { span, index: i, released: false });
    }
  }
}
