// Builds recording segments in a child process at a low CPU priority (started on first use,
// builds queued there one at a time, stopped after a minute without work): the CPU of a big
// build never delays the event loop of live sessions and API requests, and yields to them
// on a busy host. Where the process cannot start, the build runs here, as it always could.
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.ts';
import type { SegmentIndex } from './recordingSegments.ts';
import type { RecordingInfo } from '../recordings/recordingStore.ts';

export interface BuildRequest { id: number; castFile: string; outFile: string; source: RecordingInfo | undefined }
export type BuildReply = { id: number; index: SegmentIndex } | { id: number; error: string };

/** Niceness of the builder: background work, after everything interactive. */
const NICE = 15;
const IDLE_EXIT_MS = 60_000;
/**
 * Built (dist/, as every product process runs), the builder module itself; from the sources
 * (tests in the test runner's process), an entry that registers tsx first.
 */
const WORKER_ENTRY = import.meta.url.endsWith('.ts') ? './segmentWorker.mjs' : './segmentWorkerMain.js';

export class SegmentBuilder {
  #child: ChildProcess | null = null;
  #unavailable = false;
  #seq = 0;
  #idle: NodeJS.Timeout | null = null;
  readonly #waiting = new Map<number, { resolve: (index: SegmentIndex) => void; reject: (err: Error) => void }>();

  /** `here` builds in this process: used when no builder process can start. */
  constructor(private readonly here: (castFile: string, outFile: string, source?: RecordingInfo) => Promise<SegmentIndex>, private readonly log?: Logger) {}

  /** Builds the segments of the local file `castFile` into `outFile`; `source`: the stored recording's size and mtime. */
  build(castFile: string, outFile: string, source?: RecordingInfo): Promise<SegmentIndex> {
    const child = this.#ensureChild();
    if (!child) return this.here(castFile, outFile, source);
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#busy(child, true);
      child.send({ id, castFile, outFile, source } satisfies BuildRequest, (err) => {
        if (!err) return;
        this.#waiting.delete(id);
        reject(err);
      });
    });
  }

  async close(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (this.#idle) clearTimeout(this.#idle);
    this.#fail(new Error('the segment builder stopped'));
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // An idle child is unref'd: without this, a process with nothing else to do would end before its exit is heard.
      child.ref();
      child.kill();
      await exited;
    }
  }

  #ensureChild(): ChildProcess | null {
    if (this.#child || this.#unavailable) return this.#child;
    try {
      // Its own flags only (not a test runner's or an inspector's), so its entry is plain JavaScript either way.
      const child = fork(fileURLToPath(new URL(WORKER_ENTRY, import.meta.url)), [], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      try {
        if (child.pid) setPriority(child.pid, NICE);
      } catch {
        // Not allowed here: it still runs off the event loop.
      }
      child.on('message', (reply: BuildReply) => {
        const w = this.#waiting.get(reply.id);
        if (!w) return;
        this.#waiting.delete(reply.id);
        if (this.#waiting.size === 0) this.#busy(child, false);
        if ('error' in reply) w.reject(new Error(reply.error));
        else w.resolve(reply.index);
      });
      child.on('error', (err) => {
        this.log?.error({ err }, 'segment builder process failed');
        this.#lost(child, err);
      });
      child.on('exit', () => this.#lost(child, new Error('the segment builder process exited')));
      this.#child = child;
    } catch (err) {
      this.log?.warn({ err }, 'no process for segment builds; building in this one');
      this.#unavailable = true;
    }
    return this.#child;
  }

  /** While builds wait, the child keeps this process alive; idle, it is stopped after a while. */
  #busy(child: ChildProcess, busy: boolean): void {
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = null;
    if (busy) {
      child.ref();
      child.channel?.ref();
      return;
    }
    child.unref();
    child.channel?.unref();
    this.#idle = setTimeout(() => {
      if (this.#child === child && this.#waiting.size === 0) {
        this.#child = null;
        child.kill();
      }
    }, IDLE_EXIT_MS);
    this.#idle.unref();
  }

  /** The process is gone: what waited on it fails (and is asked again by the next request); a new one starts on demand. */
  #lost(child: ChildProcess, err: Error): void {
    if (this.#child !== child) return;
    this.#child = null;
    this.#fail(err);
  }

  #fail(err: Error): void {
    for (const w of this.#waiting.values()) w.reject(err);
    this.#waiting.clear();
  }
}
