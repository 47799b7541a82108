// The asciicast v2 recording of one session, written off the data path.
//
// File: <dir>/YYYY/MM/DD/<session uuid>.cast (UTC date of the session start), built from
// the UUID only (security rule 7). Line 1 is the header, then one `[t, code, data]` event
// per line: "o" output, "i" input (only when asked for, see `recordInput`), "r" resize
// ("COLSxROWS"), "m" a marker noting output that could not be recorded.
//
// The session never waits for the disk: output is coalesced in memory into one event per
// FLUSH_MS or BATCH_BYTES, encoded once (castText.ts: native UTF-8 check, WebAssembly
// escaping) and handed to a fs.WriteStream. When the stream's queue is over
// MAX_QUEUED_BYTES (a slow or stuck disk) whole events are dropped and counted instead;
// a marker event and a log line say how much is missing. No method throws into the
// caller; close() writes the tail and resolves, error or not. Not gzipped: the file is
// what `asciinema play` and the web player read as it is, even while it is written.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../core/logger.ts';
import { isUuid } from '../../core/ids.ts';
import { CastTextEncoder, releaseEventLine } from './castText.ts';
import { MAX_COLS, MAX_ROWS } from '../../core/terminalSize.ts';

/** Output is written as one event at most this long after its first byte arrived. */
export const FLUSH_MS = 15;
/** …or as soon as this much is pending. */
export const BATCH_BYTES = 64 * 1024;
/**
 * Queued but unwritten bytes per recording, and for all recordings of the process, above
 * which events are dropped, not queued. Generous per recording, so that a gateway starved
 * of CPU for a moment (a busy host) loses nothing; bounded for the process, so that many
 * sessions on a stuck disk cannot take the memory.
 */
export const MAX_QUEUED_BYTES = 16 * 1024 * 1024;
export const MAX_QUEUED_TOTAL = 256 * 1024 * 1024;
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
  /** Where to report a failing disk and dropped output (with the session id bound). */
  log?: Logger;
}

export interface CastStats {
  /** Events handed to the file (header excluded). */
  events: number;
  /** Output bytes received (recorded or dropped), before encoding. */
  outputBytes: number;
  /** Output/input bytes dropped because the disk could not keep up or failed. */
  droppedBytes: number;
  droppedEvents: number;
  /** Bytes handed to the file, header included. */
  fileBytes: number;
}

/** `YYYY/MM/DD/<uuid>.cast` for a session, or throws when the id is not a UUID. */
export function castRelativePath(sessionId: string, startedAt: Date): string {
  if (!isUuid(sessionId)) throw new Error('recording id must be a UUID');
  const yyyy = String(startedAt.getUTCFullYear()).padStart(4, '0');
  const mm = String(startedAt.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(startedAt.getUTCDate()).padStart(2, '0');
  return `${yyyy}/${mm}/${dd}/${sessionId.toLowerCase()}.cast`;
}

export class CastWriter {
  /** Bytes handed to every recording's stream and not yet written. */
  static #queuedTotal = 0;
  readonly relativePath: string;
  readonly absolutePath: string;
  #stream: WriteStream | null = null;
  #failed = false;
  #closing: Promise<void> | null = null;
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
  // Dropped since the last marker, to say how much is missing and where.
  #gapBytes = 0;
  #gapSince = 0;
  readonly #stats: CastStats = { events: 0, outputBytes: 0, droppedBytes: 0, droppedEvents: 0, fileBytes: 0 };

  private constructor(dir: string, sessionId: string, startedAt: Date, size: { cols: number; rows: number }, meta: CastMeta) {
    this.relativePath = castRelativePath(sessionId, startedAt);
    this.absolutePath = path.join(dir, ...this.relativePath.split('/'));
    this.#log = meta.log;
    this.#recordInput = meta.recordInput ?? false;
    this.#t0 = performance.now() - Math.max(0, Date.now() - startedAt.getTime());
    try {
      mkdirSync(path.dirname(this.absolutePath), { recursive: true, mode: 0o700 });
      // 'wx': a recording is never appended to or replaced.
      const stream = createWriteStream(this.absolutePath, { flags: 'wx', mode: 0o600 });
      stream.on('error', (err) => this.#fail(err));
      this.#stream = stream;
    } catch (err) {
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
    this.#write(Buffer.from(JSON.stringify(header) + '\n'), 0, true);
    this.#stats.events = 0;
  }

  /**
   * Starts the recording of a session. Throws only when `sessionId` is not a UUID; a
   * directory or file that cannot be created is logged and the session goes on unrecorded.
   */
  static open(dir: string, sessionId: string, startedAt: Date, size: { cols: number; rows: number }, meta: CastMeta = {}): CastWriter {
    return new CastWriter(dir, sessionId, startedAt, size, meta);
  }

  get stats(): Readonly<CastStats> {
    return this.#stats;
  }

  /** Backend → operator bytes. Coalesced; never blocks, never throws. */
  output(data: Buffer): void {
    if (this.#closing || data.length === 0) return;
    if (this.#pendingBytes === 0) {
      this.#pendingSince = performance.now();
      this.#timer ??= setTimeout(() => this.#onTimer(), FLUSH_MS).unref();
    }
    this.#pending.push(data);
    this.#pendingBytes += data.length;
    if (this.#pendingBytes >= BATCH_BYTES) this.#flushOutput();
  }

  /** Operator → backend bytes: an "i" event when `recordInput` is on, else nothing. */
  input(data: Buffer): void {
    if (this.#closing || !this.#recordInput || data.length === 0) return;
    this.#flushOutput();
    this.#event('i', [data], data.length, this.#input, false);
  }

  resize(cols: number, rows: number): void {
    if (this.#closing) return;
    this.#flushOutput();
    const line = `[${this.#now()}, "r", "${positive(cols, 80, MAX_COLS)}x${positive(rows, 24, MAX_ROWS)}"]\n`;
    this.#write(Buffer.from(line), 0, false);
  }

  /** Writes what is pending (and a note of anything dropped), then closes the file. Never rejects. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#flushOutput(true);
    this.#noteGap(true);
    const stream = this.#stream;
    if (!stream) return;
    if (this.#failed) {
      stream.destroy();
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
    if (this.#stats.droppedBytes > 0) {
      this.#log?.warn({ file: this.relativePath, droppedBytes: this.#stats.droppedBytes, droppedEvents: this.#stats.droppedEvents }, 'recording is incomplete: the disk could not keep up');
    }
  }

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
    if (this.#unwritable(bytes)) {
      this.#drop(bytes);
      // Whatever character was split across the gap is lost with it.
      encoder.reset();
      return;
    }
    const line = encoder.event(`[${this.#time(at)}, "${code}", "`, chunks, end);
    // Everything dropped as invisible (zeros, say), or only half a character so far: no event.
    if (!line) return;
    this.#noteGap(false);
    this.#write(line, bytes, false);
  }

  /** True when this event cannot be queued: the file failed, or the disk is behind. */
  #unwritable(bytes: number): boolean {
    if (this.#failed || !this.#stream) return true;
    return this.#stream.writableLength + bytes > MAX_QUEUED_BYTES || CastWriter.#queuedTotal + bytes > MAX_QUEUED_TOTAL;
  }

  #drop(bytes: number): void {
    if (bytes === 0) return;
    if (this.#gapBytes === 0) this.#gapSince = performance.now();
    this.#gapBytes += bytes;
    this.#stats.droppedBytes += bytes;
    this.#stats.droppedEvents += 1;
  }

  /** After a gap, once events are written again (or at the end), a marker says what is missing. */
  #noteGap(final: boolean): void {
    if (this.#gapBytes === 0) return;
    if (this.#failed || !this.#stream) return;
    if (!final && this.#stream.writableLength > MAX_QUEUED_BYTES / 2) return;
    const note = `bastion: ${this.#gapBytes} bytes of output not recorded (disk too slow)`;
    this.#log?.warn({ file: this.relativePath, droppedBytes: this.#gapBytes }, 'recording: output dropped, the disk could not keep up');
    const line = `[${this.#time(this.#gapSince)}, "m", ${JSON.stringify(note)}]\n`;
    this.#gapBytes = 0;
    this.#write(Buffer.from(line), 0, true);
  }

  #write(line: Buffer, sourceBytes: number, force: boolean): void {
    const stream = this.#stream;
    if (this.#failed || !stream) {
      this.#drop(sourceBytes);
      return;
    }
    if (!force && stream.writableLength > MAX_QUEUED_BYTES) {
      this.#drop(sourceBytes);
      return;
    }
    CastWriter.#queuedTotal += line.length;
    stream.write(line, (err) => {
      CastWriter.#queuedTotal -= line.length;
      // Written: its slab may serve the next event. (After an error the stream is done with it too.)
      if (!err) releaseEventLine(line);
    });
    this.#stats.fileBytes += line.length;
    this.#stats.events += 1;
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
    this.#log?.error({ err, file: this.relativePath }, 'recording failed; the session goes on unrecorded');
  }
}

/** A size for the recording: a positive integer cut to `max` (core/terminalSize), else `fallback`. */
function positive(n: number, fallback: number, max: number): number {
  return Number.isInteger(n) && n > 0 ? Math.min(n, max) : fallback;
}
