// The asciicast v2 recording of one session, written off the data path.
//
// Written to the RecordingStore (core/recordings: a local directory or S3) under the name it
// gives the session (YYYY/MM/DD/<session uuid>.cast, from the UUID only: security rule 7);
// this file never touches a file itself. Line 1 is the header, then one `[t, code, data]` event
// per line: "o" output, "i" input (only when asked for, see `recordInput`), "r" resize
// ("COLSxROWS"), "m" a marker (a size limit reached, bytes a transfer recording omits).
//
// Output is coalesced in memory into one event per FLUSH_MS or BATCH_BYTES (at the end of the
// poll phase that read it), encoded once
// (castText.ts: native UTF-8 check, WebAssembly escaping) and handed to the store's stream, so
// while the disk keeps up the session never waits for it. Nothing is ever dropped to keep
// up (DESIGN rule 12): when more than HIGH_WATER_BYTES wait for the disk, output() returns
// false and the caller stops reading its source until whenDrained() calls back — the
// session slows down (the SSH window closes), its record is not thinned.
//
// The recording is opened with its header written (opened() rejects when the disk refuses:
// the session is then refused, see LiveSession). A recording that fails later, or reaches
// its size limit, says so once through onIncomplete / onLimit, with a marker in the file when
// the file can still take one. No method throws into the caller; close() writes the tail and
// resolves, error or not. Not gzipped: the file is what `asciinema play` and the web player
// read as it is, even while it is written.
import type { Logger } from '../../core/logger.ts';
import { recordingName, type RecordingName, type RecordingStore, type RecordingWriter } from '../../core/recordings/recordingStore.ts';
import { CastTextEncoder, releaseEventLine } from './castText.ts';
import { LiveScreen } from './liveScreen.ts';
import type { Screen } from '../../core/audit/castScreen.ts';
import { MAX_COLS, MAX_ROWS } from '../../core/terminalSize.ts';

/** Output is written as one event at most this long after its first byte arrived. */
export const FLUSH_MS = 15;
/** …or as soon as this much is pending. */
export const BATCH_BYTES = 64 * 1024;
/** Output waiting for the poll phase's end is encoded at once beyond this (a caller in a loop). */
const MAX_DEFERRED_BYTES = 4 * BATCH_BYTES;
/**
 * Bytes queued for the disk above which output() asks the caller to wait, and below which
 * a waiting caller goes on. Large enough that a busy host's short stalls never slow a
 * session; small enough that many sessions on a slow disk cannot take the memory.
 */
export const HIGH_WATER_BYTES = 4 * 1024 * 1024;
export const LOW_WATER_BYTES = 1024 * 1024;
/**
 * A disk that completes no write for this long while the session waits for it (a hung NFS mount,
 * a dead device) is a failed recording: the session is told and goes on (marked incomplete)
 * instead of hanging forever.
 */
export const STALL_MS = 30_000;
/** close() gives a stuck disk this long before it gives up on the tail. */
const CLOSE_TIMEOUT_MS = 10_000;

export interface CastMeta {
  title?: string;
  env?: Record<string, string>;
  /**
   * Also record the operator's keystrokes as "i" events. Off by default: keystrokes hold
   * the passwords typed at echo-off prompts (sudo, su, ssh), which the output never shows,
   * and recordings are kept and replayed by auditors (security rule 5).
   */
  recordInput?: boolean;
  /** Extra header fields (e.g. how a transfer recording was kept). */
  header?: Record<string, unknown>;
  /** Where to report a failing disk (with the session id bound). */
  log?: Logger;
  /** File size (bytes) at which the recording stops (0 or unset: no limit); see `limitAction`. */
  maxBytes?: number;
  /** At the limit: 'end' asks for the session to end (onLimit), 'truncate' records no more. Both leave a marker. */
  limitAction?: 'end' | 'truncate';
  /** Called once when the recording cannot hold the whole session any more (disk failure, truncation). */
  onIncomplete?: (reason: string) => void;
  /** How long the disk may complete no write while the session waits before the recording counts as failed (default STALL_MS). */
  stallMs?: number;
  /** Called once when the size limit is reached with limitAction 'end'. */
  onLimit?: (reason: string) => void;
}

export interface CastStats {
  /** Events handed to the file (header excluded). */
  events: number;
  /** Output bytes received (recorded or dropped), before encoding. */
  outputBytes: number;
  /** Output/input bytes not recorded because the file failed or reached its size limit. */
  droppedBytes: number;
  droppedEvents: number;
  /** Times output() asked its caller to wait for the disk. */
  waits: number;
  /** Bytes handed to the file, header included. */
  fileBytes: number;
  /** The most bytes ever queued for the disk at once: what backpressure bounds. */
  maxQueuedBytes: number;
}

export class CastWriter {
  /** The recording's name in its store (what the session row keeps). */
  readonly relativePath: RecordingName;
  #stream: RecordingWriter | null = null;
  /** The screen so far, for the live view (from what the store's writer has taken). */
  #live: LiveScreen | null = null;
  #failed = false;
  /** The size limit was reached: nothing more is recorded. */
  #limited = false;
  #incomplete = false;
  /** The header is on disk: from now on a failure is reported through onIncomplete (before, opened() rejects). */
  #isOpen = false;
  #closing: Promise<void> | null = null;
  #opened: Promise<void>;
  #meta: CastMeta;
  #log: Logger | undefined;
  #recordInput: boolean;
  /** performance.now() at the session start: event times are seconds since then. */
  #t0: number;
  #output = new CastTextEncoder();
  #input = new CastTextEncoder();
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #pendingSince = 0;
  #timer: NodeJS.Timeout | null = null;
  /** Callers waiting for the disk to catch up (see whenDrained). */
  #drainWaiters: Array<() => void> = [];
  #stallTimer: NodeJS.Timeout | null = null;
  readonly #stats: CastStats = { events: 0, outputBytes: 0, droppedBytes: 0, droppedEvents: 0, fileBytes: 0, waits: 0, maxQueuedBytes: 0 };

  private constructor(store: RecordingStore, sessionId: string, startedAt: Date, size: { cols: number; rows: number }, meta: CastMeta) {
    this.relativePath = recordingName(sessionId, startedAt);
    this.#meta = meta;
    this.#log = meta.log;
    this.#recordInput = meta.recordInput ?? false;
    this.#t0 = performance.now() - Math.max(0, Date.now() - startedAt.getTime());
    let settle!: (err: unknown) => void;
    this.#opened = new Promise<void>((resolve, reject) => {
      let done = false;
      settle = (err) => {
        if (done) return;
        done = true;
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve();
      };
    });
    // Nobody may ask; a rejection must not become an unhandled one.
    this.#opened.catch(() => undefined);
    try {
      // Never appended to or replaced; made durable (fsync, upload completed) when it ends.
      const stream = store.create(this.relativePath);
      stream.on('error', (err) => {
        settle(err);
        this.#fail(err);
      });
      this.#stream = stream;
      this.#live = new LiveScreen(stream);
    } catch (err) {
      settle(err);
      this.#fail(err);
    }
    const header: Record<string, unknown> = {
      version: 2,
      width: positive(size.cols, 80, MAX_COLS),
      height: positive(size.rows, 24, MAX_ROWS),
      timestamp: Math.floor(startedAt.getTime() / 1000),
    };
    if (meta.title) header.title = meta.title;
    if (meta.env && Object.keys(meta.env).length > 0) header.env = meta.env;
    Object.assign(header, meta.header);
    this.#write(Buffer.from(JSON.stringify(header) + '\n'), 0, true, (err) => {
      if (!err && !this.#failed) this.#isOpen = true;
      settle(err ?? (this.#failed ? new Error('the recording failed') : null));
    });
    this.#stats.events = 0;
  }

  /**
   * Starts the recording of a session. Throws only when `sessionId` is not a UUID; whether
   * the file could be created and its header written is told by opened().
   */
  static open(store: RecordingStore, sessionId: string, startedAt: Date, size: { cols: number; rows: number }, meta: CastMeta = {}): CastWriter {
    return new CastWriter(store, sessionId, startedAt, size, meta);
  }

  /** Resolves once the file exists with its header written; rejects with the disk's error. */
  opened(): Promise<void> {
    return this.#opened;
  }

  get stats(): Readonly<CastStats> {
    return this.#stats;
  }

  /** Whether the recording stopped holding the whole session (failure, truncation). */
  get incomplete(): boolean {
    return this.#incomplete;
  }

  /**
   * Backend → operator bytes. Coalesced; never throws. Returns false when the disk is behind:
   * the caller should stop reading its source until whenDrained() calls back.
   */
  output(data: Buffer): boolean {
    if (this.#closing || data.length === 0) return true;
    if (this.#pendingBytes === 0) {
      this.#pendingSince = performance.now();
      this.#timer ??= setTimeout(() => this.#onTimer(), FLUSH_MS).unref();
    }
    this.#pending.push(data);
    this.#pendingBytes += data.length;
    // Encoded at the end of the event loop's poll phase, not in the caller's callback: a
    // keystroke read after this session's bulk output in the same phase does not wait for the
    // escaping and the file write too (issue 13 item 8). A caller that never lets the loop turn
    // still has it encoded (and is told to wait) every MAX_DEFERRED_BYTES.
    if (this.#pendingBytes >= MAX_DEFERRED_BYTES) this.#flushOutput();
    else if (this.#pendingBytes >= BATCH_BYTES && !this.#flushQueued) {
      this.#flushQueued = true;
      setImmediate(this.#queuedFlush);
    }
    return this.#mayGoOn();
  }

  /** Calls `fn` once the disk has caught up (at once when it is not behind, or the file failed). */
  whenDrained(fn: () => void): void {
    if (!this.#congested()) {
      queueMicrotask(fn);
      return;
    }
    this.#drainWaiters.push(fn);
    const stallMs = this.#meta.stallMs ?? STALL_MS;
    this.#stallTimer ??= setTimeout(() => {
      this.#stallTimer = null;
      this.#fail(Object.assign(new Error(`the disk completed no write for ${stallMs / 1000} s`), { code: 'ESTALLED' }));
    }, stallMs).unref();
  }

  /** Operator → backend bytes: an "i" event when `recordInput` is on, else nothing; false as output(). */
  input(data: Buffer): boolean {
    if (this.#closing || !this.#recordInput || data.length === 0) return true;
    this.#flushOutput();
    this.#event('i', [data], data.length, this.#input, false);
    return this.#mayGoOn();
  }

  resize(cols: number, rows: number): void {
    if (this.#closing) return;
    this.#flushOutput();
    const line = `[${this.#now()}, "r", "${positive(cols, 80, MAX_COLS)}x${positive(rows, 24, MAX_ROWS)}"]\n`;
    this.#write(Buffer.from(line), 0, false);
  }

  /** A marker ("m" event) with a note for whoever replays the recording. */
  marker(note: string): void {
    if (this.#closing) return;
    this.#flushOutput();
    this.#write(Buffer.from(`[${this.#now()}, "m", ${JSON.stringify(note)}]\n`), 0, true);
  }

  /**
   * The screen as recorded up to now (pending output written first), for a watcher who joins:
   * the caller notes where its own stream of the session stands at the same moment, since
   * everything up to here is in the screen. Rejects when the recording failed or ends.
   */
  screen(): Promise<Screen> {
    if (!this.#live || this.#failed || this.#closing) return Promise.reject(new Error('the recording is not being written'));
    this.#flushOutput();
    return this.#live.screen(this.#stats.fileBytes);
  }

  /** Writes what is pending, then closes the file. Never rejects. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#flushOutput(true);
    const stream = this.#stream;
    this.#releaseWaiters();
    if (!stream) return;
    if (this.#failed) {
      // Closed before close() resolves: whoever comes next (an unmount, a retry) finds the file free.
      await new Promise<void>((resolve) => {
        if (stream.closed) return resolve();
        const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS).unref();
        stream.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        stream.destroy();
      });
    } else {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#log?.error({ file: this.relativePath }, 'recording: the disk did not take the tail in time; closing anyway');
          stream.destroy();
        }, CLOSE_TIMEOUT_MS).unref();
        // 'close' comes after the last write and the fd's close, or after an error.
        stream.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        stream.end();
      });
    }
    this.#releaseWaiters();
    if (this.#stats.droppedBytes > 0) {
      this.#log?.warn({ file: this.relativePath, droppedBytes: this.#stats.droppedBytes, droppedEvents: this.#stats.droppedEvents }, 'recording is incomplete');
    }
  }

  /** A BATCH_BYTES flush waits for the poll phase's end (setImmediate). */
  #flushQueued = false;
  readonly #queuedFlush = (): void => {
    this.#flushQueued = false;
    if (!this.#closing) this.#flushOutput();
  };

  #onTimer(): void {
    this.#timer = null;
    if (this.#pendingBytes === 0 || this.#closing) return;
    const age = performance.now() - this.#pendingSince;
    if (age >= FLUSH_MS - 1) this.#flushOutput();
    else this.#timer = setTimeout(() => this.#onTimer(), FLUSH_MS - age).unref();
  }

  #flushOutput(end = false): void {
    const chunks = this.#pending;
    const bytes = this.#pendingBytes;
    if (bytes === 0 && !end) return;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (bytes === 0) {
      // The end of the stream may still hold half a character: it becomes U+FFFD.
      this.#event('o', [], 0, this.#output, true);
      return;
    }
    this.#stats.outputBytes += bytes;
    this.#event('o', chunks, bytes, this.#output, end, this.#pendingSince);
  }

  /** Encodes chunks into one `[t, code, "…"]` line and queues it. */
  #event(code: 'o' | 'i', chunks: Buffer[], bytes: number, encoder: CastTextEncoder, end: boolean, at = performance.now()): void {
    if (this.#failed || this.#limited || !this.#stream) {
      this.#drop(bytes);
      return;
    }
    const line = encoder.event(`[${this.#time(at)}, "${code}", "`, chunks, end);
    // Everything dropped as invisible (zeros, say), or only half a character so far: no event.
    if (!line) return;
    this.#write(line, bytes, false);
  }

  /** What output() and input() answer: false (counted as a wait) while the disk is behind. */
  #mayGoOn(): boolean {
    if (!this.#congested()) return true;
    this.#stats.waits += 1;
    return false;
  }

  /** True while more than HIGH_WATER_BYTES wait for the disk (never once the file failed or stopped). */
  #congested(): boolean {
    const stream = this.#stream;
    if (!stream || this.#failed || this.#limited) return false;
    return stream.writableLength >= HIGH_WATER_BYTES;
  }

  #releaseWaiters(): void {
    if (this.#stallTimer) clearTimeout(this.#stallTimer);
    this.#stallTimer = null;
    const waiters = this.#drainWaiters;
    if (waiters.length === 0) return;
    this.#drainWaiters = [];
    for (const fn of waiters) fn();
  }

  #drop(bytes: number): void {
    if (bytes === 0) return;
    this.#stats.droppedBytes += bytes;
    this.#stats.droppedEvents += 1;
  }

  #write(line: Buffer, sourceBytes: number, force: boolean, done?: (err: Error | null | undefined) => void): void {
    const stream = this.#stream;
    if (this.#failed || !stream || (this.#limited && !force)) {
      this.#drop(sourceBytes);
      done?.(this.#failed ? new Error('the recording failed') : null);
      return;
    }
    const max = this.#meta.maxBytes ?? 0;
    if (!force && max > 0 && this.#stats.fileBytes + line.length > max) {
      this.#drop(sourceBytes);
      this.#reachLimit(max);
      return;
    }
    stream.write(line, (err) => {
      done?.(err);
      // Written: its slab may serve the next event. (After an error the stream is done with it too.)
      if (!err) releaseEventLine(line);
      // The disk took something: not stalled, only slow.
      this.#stallTimer?.refresh();
      if (this.#drainWaiters.length > 0 && stream.writableLength <= LOW_WATER_BYTES) this.#releaseWaiters();
    });
    this.#stats.fileBytes += line.length;
    this.#stats.events += 1;
    if (stream.writableLength > this.#stats.maxQueuedBytes) this.#stats.maxQueuedBytes = stream.writableLength;
  }

  /** The size limit: a marker says so, and the session ends or the recording stops, as configured. */
  #reachLimit(max: number): void {
    if (this.#limited) return;
    this.#limited = true;
    const mib = Number((max / (1024 * 1024)).toFixed(2));
    const end = (this.#meta.limitAction ?? 'end') === 'end';
    const reason = end
      ? `the recording reached its limit of ${mib} MiB; the session was ended`
      : `the recording reached its limit of ${mib} MiB; the rest of the session is not recorded`;
    this.#write(Buffer.from(`[${this.#now()}, "m", ${JSON.stringify(`bastion: ${reason}`)}]\n`), 0, true);
    this.#releaseWaiters();
    this.#log?.warn({ file: this.relativePath, maxBytes: max, action: end ? 'end' : 'truncate' }, 'recording: size limit reached');
    if (end) this.#meta.onLimit?.(reason);
    else this.#markIncomplete(reason);
  }

  #markIncomplete(reason: string): void {
    if (this.#incomplete) return;
    this.#incomplete = true;
    this.#meta.onIncomplete?.(reason);
  }

  #now(): string {
    return this.#time(performance.now());
  }

  /** Seconds since the session start, microsecond precision, never before the start. */
  #time(at: number): string {
    return Math.max(0, (at - this.#t0) / 1000).toFixed(6);
  }

  #fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#releaseWaiters();
    const code = (err as NodeJS.ErrnoException | null)?.code;
    this.#log?.error({ err, file: this.relativePath }, 'recording failed');
    if (this.#isOpen) this.#markIncomplete(`the recording could not be written${code ? ` (${code})` : ''}`);
  }
}

/** A size for the recording: a positive integer cut to `max` (core/terminalSize), else `fallback`. */
function positive(n: number, fallback: number, max: number): number {
  return Number.isInteger(n) && n > 0 ? Math.min(n, max) : fallback;
}
