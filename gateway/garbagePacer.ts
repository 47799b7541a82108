// Keeps the gateway's RSS flat while bulk data passes (issue 13: ± 20 MB during a 1 GiB
// transfer with any client). Every SSH packet the gateway moves costs a few short-lived
// Buffers (the decrypted packet, the SFTP packet re-built for the other side, the encrypted
// one): 3–4 bytes of garbage per byte moved, outside V8's heap. V8 frees dead Buffers at its
// young-generation collections, but it runs those when JavaScript objects fill the young
// generation, and a transfer makes few of them; so dead Buffers piled up by 40–70 MiB
// (scp, paramiko, pscp uploads) before V8 reacted to the external memory. The pacer counts the
// bytes read from the gateway's sockets and asks V8 for a young-generation collection (about
// half a millisecond) every EVERY_BYTES of them, between I/O callbacks.
//
// Buffers that live across two young collections (SFTP read-ahead and answers in flight, data
// queued for a slow socket) are moved to the old generation, and die there: only a full
// collection frees them, and V8 starts one for external memory only after it has grown by
// 64 MiB. A 512 MiB scp or paramiko download grew the gateway by 20–31 MiB this way, with
// 17–25 MiB of ArrayBuffers alive at the peak, and each transfer left the next one starting
// higher. So after each young collection the pacer also looks at the ArrayBuffer bytes, and
// when they have grown EXTERNAL_SLACK_BYTES over the lowest it has seen since its last full
// collection, it asks for one, incremental (marking runs beside the program, in steps).
import type { Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Bytes read between two collections: with 3–4 bytes of garbage per byte, about 16 MiB of dead Buffers at most. */
export const EVERY_BYTES = 4 * 1024 * 1024;

/** ArrayBuffer bytes above the lowest seen since the last full collection before the pacer asks for another. */
export const EXTERNAL_SLACK_BYTES = 8 * 1024 * 1024;

type Collect = (options: { type: 'minor' } | { type: 'major'; execution: 'async' }) => void;

/** V8's gc(), made available once: from --expose-gc if the process has it, else by setting the flag now. */
function v8Collector(): Collect | null {
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === 'function') return own as Collect;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as Collect) : null;
  } catch {
    return null;
  }
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
  readonly #externalBytes: () => number;
  #bytes = 0;
  #scheduled = false;
  /** The fewest ArrayBuffer bytes seen since the last full collection asked for (null: none seen yet). */
  #externalFloor: number | null = null;
  /** Collections asked for, for tests and benches. */
  collections = 0;
  fullCollections = 0;

  constructor(every = EVERY_BYTES, collect: Collect | null = v8Collector(), externalBytes: () => number = () => process.memoryUsage().arrayBuffers) {
    this.#every = every;
    this.#collect = collect;
    this.#externalBytes = externalBytes;
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
      this.#checkExternal();
    });
  }

  /** Asks for a full collection once ArrayBuffers have grown EXTERNAL_SLACK_BYTES over their floor. */
  #checkExternal(): void {
    const now = this.#externalBytes();
    if (this.#externalFloor === null || now < this.#externalFloor) this.#externalFloor = now;
    if (now - this.#externalFloor < EXTERNAL_SLACK_BYTES) return;
    // The floor is measured again from the next look, once this collection has freed what it frees.
    this.#externalFloor = null;
    this.fullCollections++;
    this.#collect?.({ type: 'major', execution: 'async' });
  }
}
