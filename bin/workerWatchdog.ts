/**
 * The primary's watch over its gateway workers' event loops. A worker whose loop is stuck for
 * good (an endless loop, a synchronous call that never returns) still has its process and its
 * channel, so nothing else notices: its sessions hang, and it is handed no more connections only
 * because it takes none (connectionHandoff.ts). The primary pings each ready worker every
 * PING_MS; one that has answered nothing for STUCK_MS is reported, and the primary kills it so
 * that a new worker takes its place. A loop kept busy by a loaded host still answers within
 * seconds: 30 s of silence is no slowness.
 */
import type { Worker } from 'node:cluster';
import { numberedMessage, type PrimaryChannel } from './ipcMessage.ts';

interface Ping { __bastionPing: number }
interface Pong { __bastionPong: number }
const isPing = numberedMessage<Ping>('__bastionPing');
const isPong = numberedMessage<Pong>('__bastionPong');

export const PING_MS = 5_000;
export const STUCK_MS = 30_000;

export class WorkerWatchdog {
  /** When each watched worker last answered (or was first watched). */
  readonly #heard = new Map<Worker, number>();
  readonly #timer: NodeJS.Timeout;
  #seq = 0;

  constructor(private readonly stuck: (worker: Worker, silentMs: number) => void) {
    this.#timer = setInterval(() => this.#round(), PING_MS);
    this.#timer.unref();
  }

  /** A worker that has said it is ready: its loop turns from now on. */
  watch(worker: Worker): void {
    if (this.#heard.has(worker)) return;
    this.#heard.set(worker, Date.now());
    worker.on('message', (m: unknown) => {
      if (isPong(m) && this.#heard.has(worker)) this.#heard.set(worker, Date.now());
    });
  }

  forget(worker: Worker): void {
    this.#heard.delete(worker);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#heard.clear();
  }

  #round(): void {
    const now = Date.now();
    const seq = ++this.#seq;
    for (const [worker, heard] of this.#heard) {
      if (now - heard > STUCK_MS) {
        this.#heard.delete(worker);
        this.stuck(worker, now - heard);
        continue;
      }
      try {
        worker.send({ __bastionPing: seq } satisfies Ping, () => undefined);
      } catch {
        // A worker that is exiting: its exit is what counts.
      }
    }
  }
}

/** In a worker: answers its primary's pings, which only a turning event loop can do. */
export function answerPings(primary: PrimaryChannel): void {
  primary.on('message', (m: unknown) => {
    if (isPing(m)) primary.send?.({ __bastionPong: m.__bastionPing } satisfies Pong, () => undefined);
  });
}
