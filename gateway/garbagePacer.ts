// Keeps the gateway's RSS flat while bulk data passes (issue 13: ± 20 MB during a 1 GiB
// transfer with any client). Every SSH packet the gateway moves costs a few short-lived
// Buffers (the decrypted packet, the SFTP packet re-built for the other side, the encrypted
// one): 3–5 bytes of garbage per byte moved, outside V8's heap. V8 frees dead Buffers at its
// young-generation collections, but it runs those when JavaScript objects fill the young
// generation, and a transfer makes few of them; so dead Buffers piled up by 40–70 MiB
// (scp, paramiko, pscp uploads) before V8 reacted to the external memory. The pacer counts the
// bytes read from the gateway's sockets and asks V8 for a young-generation collection (about
// half a millisecond) every EVERY_BYTES of them, between I/O callbacks. An scp upload makes
// ~5 bytes of garbage per byte read (socket chunk, decrypted packet, the SFTP packet joined
// from two SSH packets, the WRITE re-built for the asset, its SSH packet): 4 MiB between
// collections let ~20 MiB of dead Buffers pile up, 2 MiB lets ~10.
//
// What lives across two young collections is moved to the old generation and dies there:
// SFTP READs in flight and read ahead (their Buffers, records and ssh2's request objects),
// data queued for a slow socket. Only a full collection frees it, and V8 starts one late: for
// external memory after 64 MiB of growth, for the heap after it grew by
// OLD_GENERATION_GROWTH_PERCENT (below) — ~20 MiB on a gateway's heap. A 1 GiB scp download
// grew the heap by 19 MiB and the ArrayBuffers by 10 this way, RSS by 35 MiB. So after each
// young collection the pacer also looks at what is retained, external memory (ArrayBuffers) plus the V8 heap in
// use, and when it has grown SLACK_BYTES over the lowest it has seen since its last full
// collection, it asks for one — incremental (see startIncrementalFull).
import type { Socket } from 'node:net';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Bytes read between two young collections: with up to 5 bytes of garbage per byte, about 10 MiB of dead Buffers at most. */
export const EVERY_BYTES = 2 * 1024 * 1024;

/** Retained bytes (ArrayBuffers + V8 heap in use) above the lowest seen since the last full collection before the pacer asks for another. */
export const SLACK_BYTES = 8 * 1024 * 1024;

/**
 * Full collections the pacer asks for are at least this far apart. Each one stops the event loop
 * for its final pause, longer the more the heap holds (twenty PTY sessions' recorders and
 * terminals): with a young collection every 2 MiB the retained-bytes floor is looked at twice as
 * often, and beside 20 bulk shells the pacer asked for two a second — keystroke echo p95 through
 * the gateway ~240–300 ms instead of 27–60 ms (issue 13 item 8, same runs with none asked for).
 */
export const FULL_SPACING_MS = 5000;

/**
 * What a full collection would free, if dead: external memory (ArrayBuffers' among it) and the
 * V8 heap in use. From V8's heap statistics, not process.memoryUsage(): that one also reads the
 * RSS from /proc each time, ~80 µs on a loaded host against ~10, and the pacer asks after every
 * collection it makes — 3% of the gateway's busy time in a pscp download's CPU profile. Only the
 * growth over the lowest seen counts, so what else is external (a constant) does not matter.
 */
function retainedBytes(): number {
  const h = getHeapStatistics();
  return h.external_memory + h.used_heap_size;
}

type Collect = (options: { type: 'minor' } | { type: 'major' }) => void;
type V8Gc = (options: { type: 'minor' }) => void;

/**
 * How much external memory the pacer pretends to allocate to start a full collection: past
 * V8's soft limit (64 MiB over what was external after its last full collection) with room for
 * what scavenges freed since, below the limit past which V8 collects at once.
 */
export const NUDGE_BYTES = 96 * 1024 * 1024;

/**
 * Starts a full collection that V8 runs incrementally: its marking in steps between the
 * program's tasks, then a final pause of 1–3 ms. gc({ type: 'major' }) — also with
 * `execution: 'async'`, which only defers it to a task — is one atomic mark-compact, and on a
 * loaded gateway its pause was 40–170 ms (`--trace-gc`: "testing; GC in old space requested"),
 * one every FULL_SPACING_MS that every keystroke and transfer in the process waited out. V8
 * starts incremental marking by itself when external memory grows past its soft limit, so the
 * pacer allocates an ArrayBuffer that large and lets it go: V8 counts it as external memory
 * (the start), and its pages are never touched (calloc maps zero pages for it: no RSS), then
 * freed with the collection it started. test/gatewayMemory.test.ts checks, with `--trace-gc`,
 * that the collection it starts is incremental.
 */
export function startIncrementalFull(): void {
  try {
    // Held until the next turn, so that no compiler may drop an allocation nobody reads.
    nudge = new ArrayBuffer(NUDGE_BYTES);
  } catch {
    // A host that commits no address space it cannot back (vm.overcommit_memory=2) may refuse
    // it: V8 then starts its own full collections, as without the pacer.
    return;
  }
  setImmediate(() => {
    nudge = null;
  });
}
let nudge: ArrayBuffer | null = null;

/**
 * V8's gc() for young collections, made available once (from --expose-gc if the process has
 * it, else by setting the flag now), and startIncrementalFull for full ones.
 */
function v8Collector(): Collect | null {
  let gc: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== 'function') {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc');
    } catch {
      return null;
    }
  }
  if (typeof gc !== 'function') return null;
  const minor = gc as V8Gc;
  return (options) => (options.type === 'minor' ? minor({ type: 'minor' }) : startIncrementalFull());
}

/**
 * How far V8 lets the old generation grow past what survived its last full collection before
 * it starts the next one, in percent. V8 picks this itself (10% to 300%) from how fast it
 * collects against how fast the program allocates; a gateway moving bulk data allocates little
 * on the JavaScript heap and collects fast, so V8 picked its minimum, 10%, and with every
 * packet's few surviving objects the old generation reached it every half second or so: a full
 * collection (5–130 ms with the CPU shared) twice a second per process, each one a pause every
 * keystroke in that process waits out, and half the gateway's CPU per byte. 50% makes them rare
 * (none during a 256 MiB transfer) for at most half the old generation (~10–20 MB) in garbage.
 */
export const OLD_GENERATION_GROWTH_PERCENT = 50;

let growthSet = false;

/** Sets V8's old-generation growth for this process (once; it is per process, not per gateway). */
function steadyOldGeneration(): void {
  if (growthSet) return;
  growthSet = true;
  try {
    setFlagsFromString(`--heap-growing-percent=${OLD_GENERATION_GROWTH_PERCENT}`);
  } catch {
    // A V8 without the flag keeps its own growth.
  }
}

export class GarbagePacer {
  readonly #every: number;
  readonly #collect: Collect | null;
  readonly #retained: () => number;
  #bytes = 0;
  #scheduled = false;
  /** The fewest retained bytes seen since the last full collection asked for (null: none seen yet). */
  #floor: number | null = null;
  readonly #fullSpacingMs: number;
  /** When the last full collection was asked for (performance.now()). */
  #lastFull = -Infinity;
  /** Collections asked for, for tests and benches. */
  collections = 0;
  fullCollections = 0;

  constructor(every = EVERY_BYTES, collect: Collect | null = v8Collector(), retained: () => number = retainedBytes, fullSpacingMs = FULL_SPACING_MS) {
    this.#every = every;
    this.#fullSpacingMs = fullSpacingMs;
    this.#collect = collect;
    this.#retained = retained;
    steadyOldGeneration();
  }

  /** Counts what `sock` delivers, for its whole life. */
  watch(sock: Socket): void {
    if (!this.#collect) return;
    sock.on('data', (chunk: Buffer) => this.moved(chunk.length));
  }

  moved(bytes: number): void {
    this.#bytes += bytes;
    if (this.#bytes < this.#every || this.#scheduled || !this.#collect) return;
    this.#scheduled = true;
    // After the current I/O callbacks: the Buffers they were using are dead by then.
    setImmediate(() => {
      this.#scheduled = false;
      this.#bytes = 0;
      this.collections++;
      this.#collect?.({ type: 'minor' });
      this.#checkRetained();
    });
  }

  /** Asks for a full collection once the retained bytes have grown SLACK_BYTES over their floor (at most one per FULL_SPACING_MS). */
  #checkRetained(): void {
    const now = this.#retained();
    if (this.#floor === null || now < this.#floor) this.#floor = now;
    if (now - this.#floor < SLACK_BYTES) return;
    // Too soon after the last one: the floor stays, so the growth asks again once the spacing has passed.
    const at = performance.now();
    if (at - this.#lastFull < this.#fullSpacingMs) return;
    this.#lastFull = at;
    // The floor is measured again from the next look, once this collection has freed what it frees.
    this.#floor = null;
    this.fullCollections++;
    this.#collect?.({ type: 'major' });
  }
}
