// Builds recording segments on a worker thread (one, started on first use, builds queued
// there one at a time), so the CPU of a big build never delays the main event loop. Where a
// worker thread cannot start, the build runs here instead, as it always could.
import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.ts';
import type { SegmentIndex } from './recordingSegments.ts';

export interface BuildRequest { id: number; castFile: string }
export type BuildReply = { id: number; index: SegmentIndex } | { id: number; error: string };

export class SegmentBuilder {
  #worker: Worker | null = null;
  #unavailable = false;
  #seq = 0;
  readonly #waiting = new Map<number, { resolve: (index: SegmentIndex) => void; reject: (err: Error) => void }>();

  /** `here` builds on this thread: used when no worker thread can start. */
  constructor(private readonly here: (castFile: string) => Promise<SegmentIndex>, private readonly log?: Logger) {}

  build(castFile: string): Promise<SegmentIndex> {
    const worker = this.#ensureWorker();
    if (!worker) return this.here(castFile);
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      // Only while a build waits does the thread keep the process alive.
      worker.ref();
      worker.postMessage({ id, castFile } satisfies BuildRequest);
    });
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = null;
    this.#fail(new Error('the segment builder stopped'));
    await worker?.terminate();
  }

  #ensureWorker(): Worker | null {
    if (this.#worker || this.#unavailable) return this.#worker;
    try {
      const worker = new Worker(new URL('./segmentWorker.mjs', import.meta.url));
      worker.unref();
      worker.on('message', (reply: BuildReply) => {
        const w = this.#waiting.get(reply.id);
        if (!w) return;
        this.#waiting.delete(reply.id);
        if (this.#waiting.size === 0) worker.unref();
        if ('error' in reply) w.reject(new Error(reply.error));
        else w.resolve(reply.index);
      });
      worker.on('error', (err) => {
        this.log?.error({ err }, 'segment builder thread failed');
        this.#lost(worker, err);
      });
      worker.on('exit', () => this.#lost(worker, new Error('the segment builder thread exited')));
      this.#worker = worker;
    } catch (err) {
      this.log?.warn({ err }, 'no worker thread for segment builds; building on the main thread');
      this.#unavailable = true;
    }
    return this.#worker;
  }

  /** The thread is gone: what waited on it fails (and is asked again by the next request); a new thread starts on demand. */
  #lost(worker: Worker, err: Error): void {
    if (this.#worker !== worker) return;
    this.#worker = null;
    this.#fail(err);
  }

  #fail(err: Error): void {
    for (const w of this.#waiting.values()) w.reject(err);
    this.#waiting.clear();
  }
}
