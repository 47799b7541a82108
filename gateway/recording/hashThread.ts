// SHA-256 of exec streams off the event loop (issue 13 item 2). A transfer record hashes every
// byte of stdout, stderr and stdin; on the gateway's one JavaScript thread that was ~200 ms per
// 256 MiB `cat`, time every other session's packets waited behind. Here each stream copies its
// bytes into 256 KiB batches; a full batch is handed (transferred, not copied) to one worker
// thread per process that keeps the streams' hash states, and comes back empty to be filled
// again, so the hot path costs one memcpy per byte and no garbage.
//
// A stream shorter than one batch never reaches the thread: it is hashed here at its end (a
// short `uptime` starts no thread). The thread starts with the first full batch and stops once
// no stream has used it for IDLE_MS, so an idle gateway does not keep it (issue 13: idle RSS).
//
// If the thread fails (it cannot start, or dies), the streams that had given it bytes cannot
// know their digest any more: their digest() resolves null and the record says so (never a
// wrong digest); streams that had not yet given it any go on, and a new thread is started.
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * Bytes per batch handed to the thread: large enough that a message costs little per byte
 * (a thousand per 256 MiB), small enough that the batches out at once (at most
 * MAX_BATCHES_IN_FLIGHT per stream, SPARE_BATCHES kept) stay a few MiB: the garbage pacer
 * counts the process's ArrayBuffers, and 1 MiB batches made them swing by ~9 MiB.
 */
export const BATCH_BYTES = 256 * 1024;
/** Batches of one stream at the thread before the stream reports itself behind (backpressure). */
export const MAX_BATCHES_IN_FLIGHT = 4;
/** The thread is stopped after this long without work and without a stream holding state in it. */
export const IDLE_MS = 30_000;
/** Empty batches kept for reuse, over all streams. */
const SPARE_BATCHES = 4;

/**
 * The thread's code, plain CommonJS evaluated as is: nothing to compile or bundle, and the
 * thread loads no TypeScript loader or module graph (execArgv is emptied).
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
const stateOf = (id) => { let h = hashes.get(id); if (!h) { h = createHash('sha256'); hashes.set(id, h); } return h; };
parentPort.on('message', (m) => {
  const h = stateOf(m.id);
  if (m.length > 0) h.update(new Uint8Array(m.buf, 0, m.length));
  if (m.final) {
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, buf: m.buf, hex: h.digest('hex') }, [m.buf]);
  } else {
    parentPort.postMessage({ id: m.id, buf: m.buf }, [m.buf]);
  }
});
`;

interface ToThread {
  id: number;
  buf: ArrayBuffer;
  length: number;
  final: boolean;
}

interface FromThread {
  id: number;
  buf: ArrayBuffer;
  hex?: string;
}

/** One process's hashing thread and the streams that use it. Made once per gateway (GatewayContext.hashing). */
export class HashThread {
  #worker: Worker | null = null;
  #nextId = 1;
  /** Streams with state in the thread (a batch given, no digest yet), by id. */
  readonly #streams = new Map<number, StreamHash>();
  /** Messages sent and not yet answered: the thread keeps the process alive only while there are some. */
  #outstanding = 0;
  readonly #spare: ArrayBuffer[] = [];
  #idleTimer: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #idleMs: number;
  /** Threads started so far (for tests). */
  started = 0;

  constructor({ idleMs = IDLE_MS }: { idleMs?: number } = {}) {
    this.#idleMs = idleMs;
  }

  /** A new stream's hash. */
  stream(): StreamHash {
    return new StreamHash(this, this.#nextId++);
  }

  /** Whether a thread is running now (for tests). */
  get running(): boolean {
    return this.#worker !== null;
  }

  /** Stops the thread (gateway shutdown); streams that had given it bytes get no digest. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#stop();
  }

  /** @internal A batch to hash; the stream is registered until its final batch is answered. */
  post(stream: StreamHash, msg: ToThread): boolean {
    const worker = this.#ensure();
    if (!worker) return false;
    this.#streams.set(stream.id, stream);
    if (this.#idleTimer) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = null;
    }
    if (this.#outstanding++ === 0) worker.ref();
    worker.postMessage(msg, [msg.buf]);
    return true;
  }

  /** @internal An empty batch: one given back by the thread, or a new one. */
  batch(): ArrayBuffer {
    return this.#spare.pop() ?? new ArrayBuffer(BATCH_BYTES);
  }

  /** @internal Terminates the thread now, as if it had died (tests: what a stream does then). */
  async kill(): Promise<void> {
    await this.#worker?.terminate();
  }

  #ensure(): Worker | null {
    if (this.#worker) return this.#worker;
    if (this.#closed) return null;
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], stdout: false, stderr: false });
    } catch {
      return null;
    }
    this.started++;
    worker.unref();
    worker.on('message', (m: FromThread) => this.#answer(m));
    // A thread that fails takes its streams' states with it: they learn it, new streams start another.
    worker.on('error', () => this.#lost(worker));
    worker.on('exit', () => this.#lost(worker));
    this.#worker = worker;
    return worker;
  }

  #answer(m: FromThread): void {
    if (--this.#outstanding === 0) this.#worker?.unref();
    if (this.#spare.length < SPARE_BATCHES && m.buf.byteLength === BATCH_BYTES) this.#spare.push(m.buf);
    const stream = this.#streams.get(m.id);
    if (m.hex !== undefined) this.#streams.delete(m.id);
    stream?.answered(m.hex);
    if (this.#outstanding === 0 && this.#streams.size === 0 && !this.#idleTimer) {
      this.#idleTimer = setTimeout(() => {
        this.#idleTimer = null;
        if (this.#outstanding === 0 && this.#streams.size === 0) void this.#stop();
      }, this.#idleMs).unref();
    }
  }

  #lost(worker: Worker): void {
    if (this.#worker !== worker) return;
    this.#worker = null;
    this.#outstanding = 0;
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    const lost = [...this.#streams.values()];
    this.#streams.clear();
    for (const s of lost) s.failed();
  }

  async #stop(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    this.#lost(worker);
    await worker.terminate();
  }
}

/** The SHA-256 of one stream, fed in order with update() and read once with digest(). */
export class StreamHash {
  /** Bytes given to update(). */
  total = 0;
  #batch: Buffer | null = null;
  #fill = 0;
  /** Batches at the thread, not answered yet. */
  #inFlight = 0;
  /** Some bytes went to the thread: the digest comes from there. */
  #threaded = false;
  /** The thread could not be had before this stream used it: hashed on this thread instead. */
  #here: Hash | null = null;
  #failed = false;
  #waiters: Array<() => void> = [];
  #digest: Promise<string | null> | null = null;
  #resolveDigest: ((hex: string | null) => void) | null = null;

  constructor(private readonly thread: HashThread, readonly id: number) {}

  /** Hashes `data` (copied: the caller may reuse its buffer). */
  update(data: Buffer): void {
    if (this.#digest) throw new Error('StreamHash: update after digest');
    this.total += data.length;
    if (this.#failed) return;
    if (this.#here) {
      this.#here.update(data);
      return;
    }
    let off = 0;
    while (off < data.length) {
      const batch = (this.#batch ??= Buffer.from(this.thread.batch()));
      const n = Math.min(data.length - off, batch.length - this.#fill);
      data.copy(batch, this.#fill, off, off + n);
      this.#fill += n;
      off += n;
      if (this.#fill === batch.length) this.#send(false);
      if (this.#failed) return;
      // #send may have set it (TypeScript's narrowing above does not know).
      const here = this.#here as Hash | null;
      if (here) {
        // The thread could not be had: the rest of this chunk too is hashed here, in order.
        here.update(data.subarray(off));
        return;
      }
    }
  }

  /** Too many batches at the thread: the caller should stop reading until whenCaughtUp(). */
  get behind(): boolean {
    return this.#inFlight >= MAX_BATCHES_IN_FLIGHT;
  }

  /** Calls `fn` once the stream is no longer behind (at once when it is not). */
  whenCaughtUp(fn: () => void): void {
    if (!this.behind) queueMicrotask(fn);
    else this.#waiters.push(fn);
  }

  /** The hex SHA-256 of every byte given, or null when the thread holding part of it failed. */
  digest(): Promise<string | null> {
    if (this.#digest) return this.#digest;
    if (this.#failed) return (this.#digest = Promise.resolve(null));
    if (!this.#threaded) {
      // Never reached the thread: the rest (at most one batch) is hashed here.
      const hash = this.#here ?? createHash('sha256');
      if (this.#batch) hash.update(this.#batch.subarray(0, this.#fill));
      this.#batch = null;
      return (this.#digest = Promise.resolve(hash.digest('hex')));
    }
    this.#digest = new Promise((resolve) => (this.#resolveDigest = resolve));
    this.#send(true);
    return this.#digest;
  }

  /** @internal The thread answered one of this stream's batches (`hex` for the final one). */
  answered(hex: string | undefined): void {
    this.#inFlight--;
    if (hex !== undefined) {
      this.#resolveDigest?.(hex);
      this.#resolveDigest = null;
    }
    if (!this.behind) this.#release();
  }

  /** @internal The thread died with part of this stream: no digest, and nobody waits on it. */
  failed(): void {
    this.#failed = true;
    this.#inFlight = 0;
    this.#batch = null;
    this.#resolveDigest?.(null);
    this.#resolveDigest = null;
    this.#release();
  }

  #send(final: boolean): void {
    const buf = this.#batch ? (this.#batch.buffer as ArrayBuffer) : new ArrayBuffer(0);
    const msg: ToThread = { id: this.id, buf, length: this.#fill, final };
    const batch = this.#batch;
    this.#batch = null;
    this.#fill = 0;
    this.#inFlight++;
    if (this.thread.post(this, msg)) {
      this.#threaded = true;
      return;
    }
    // No thread (it cannot start, or the gateway is closing).
    this.#inFlight--;
    if (this.#threaded || final) {
      this.failed();
      return;
    }
    // Nothing of this stream is anywhere else yet: it is hashed here from now on.
    this.#here = createHash('sha256');
    if (batch) this.#here.update(batch.subarray(0, msg.length));
  }

  #release(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const fn of waiters) fn();
  }
}
