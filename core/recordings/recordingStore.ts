// Where recordings live, behind one interface: naming, writing, reading with ranges, the
// segment sidecar, deletion and usage. Two implementations: a local directory (the default)
// and S3-compatible object storage. Nothing outside this folder touches recording files
// (DESIGN: "Files behind one interface"); callers hold a RecordingName, never a path.
import type { Readable, Writable } from 'node:stream';
import { isUuid } from '../ids.ts';

declare const nameBrand: unique symbol;
/** `YYYY/MM/DD/<session uuid>.cast`: made or checked here only, from the session's own UUID (rule 7). */
export type RecordingName = string & { readonly [nameBrand]: true };

const NAME = /^(\d{4})\/(\d{2})\/(\d{2})\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.cast$/;

/** The name of a new session's recording (UTC date of its start); throws when the id is not a UUID. */
export function recordingName(sessionId: string, startedAt: Date): RecordingName {
  if (!isUuid(sessionId)) throw new Error('recording id must be a UUID');
  const yyyy = String(startedAt.getUTCFullYear()).padStart(4, '0');
  const mm = String(startedAt.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(startedAt.getUTCDate()).padStart(2, '0');
  return `${yyyy}/${mm}/${dd}/${sessionId.toLowerCase()}.cast` as RecordingName;
}

/** Any well-formed recording name (a store listing its own keys), else null. */
export function asRecordingName(stored: string): RecordingName | null {
  return NAME.test(stored) ? (stored as RecordingName) : null;
}

/** The session a recording belongs to (its name is made from the session's UUID). */
export function sessionIdOf(name: RecordingName): string {
  return NAME.exec(name)![4]!;
}

/** A stored name, accepted only in the form recordingName makes and for this session's own UUID; else null. */
export function parseRecordingName(sessionId: string, stored: string | null | undefined): RecordingName | null {
  if (!stored) return null;
  const m = NAME.exec(stored);
  if (!m || m[4] !== sessionId.toLowerCase()) return null;
  return stored as RecordingName;
}

export interface RecordingInfo {
  size: number;
  /** Last change (ms since the epoch): a segment sidecar built from another state is stale. */
  mtimeMs: number;
}

/** Inclusive byte range, as in HTTP. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface RecordingUsage {
  bytes: number;
  files: number;
}

/**
 * A recording being written (what create() returns). Besides the stream, it can hand back
 * what it has taken so far, for the live view of a session in the process that writes it:
 * an S3 object cannot be read before its upload completes.
 */
export interface RecordingWriter extends Writable {
  /**
   * Once the first `upTo` bytes written have been taken: `start` and the bytes [start, upTo).
   * `start` is 0 where the whole recording can be read back (a file); on S3 it is where the
   * bytes still held in memory begin (the part being filled): the bytes before it were
   * handed to onPart() when they left. Rejects when the writer fails or has ended.
   */
  written(upTo: number): Promise<{ start: number; data: Readable }>;
  /** `fn` hears each part of the recording that leaves this process's memory (S3: cut for upload), `start` its offset. */
  onPart(fn: (start: number, data: Buffer) => void): void;
}

/** What recover() found: nothing unfinished; an upload completed with the parts it had; an upload that had no part (dropped). */
export type Recovery = 'none' | 'recovered' | 'empty';

export interface RecordingStore {
  readonly kind: 'directory' | 's3';
  /** Where, for logs and health checks (a path, or s3://bucket/prefix); never holds a secret. */
  readonly location: string;
  /**
   * Whether a recording being written can be read (stat, read) from any process, as far as it
   * has come: a file can; an S3 object exists only once its multipart upload completes, at the
   * end of the session (parts of an unfinished upload cannot be read), so a running session's
   * recording is not there to download yet.
   */
  readonly readableWhileWriting: boolean;
  /**
   * A new recording, never replacing one. Writes are taken in order; the stream errors
   * (and its first write's callback fails) when the recording cannot be created, so a
   * session can be refused. end() resolves ('finish') once the recording is durable:
   * fsync'd on disk, the multipart upload completed on S3.
   */
  create(name: RecordingName): RecordingWriter;
  /** Size and last change, or null when there is no such recording (yet). */
  stat(name: RecordingName): Promise<RecordingInfo | null>;
  /** The bytes of a recording, or of `range` of it. Rejects with code ENOENT when it does not exist. */
  read(name: RecordingName, range?: ByteRange): Promise<Readable>;
  /**
   * Builds the segment sidecar of a recording: `build` gets a local file holding the recording
   * and a local path to write the sidecar to; the store then keeps that file as the sidecar
   * (renamed into place, or uploaded), replacing the old one.
   */
  buildSidecar<T>(name: RecordingName, build: (castFile: string, outFile: string) => Promise<T>): Promise<T>;
  /** A byte range of the sidecar (`last`: its last N bytes), with the sidecar's size; null when there is none. */
  readSidecar(name: RecordingName, range: { start: number; length: number } | { last: number }): Promise<{ data: Buffer; size: number } | null>;
  /** Deletes only the segment sidecar (it is rebuilt on the next playback). */
  removeSidecar(name: RecordingName): Promise<void>;
  /** Deletes a recording and its sidecar; true when there was a recording. */
  remove(name: RecordingName): Promise<boolean>;
  /** Bytes and objects (recordings and sidecars) kept. */
  usage(): Promise<RecordingUsage>;
  /** Bytes the store can still take for a new recording, or null when it has no such floor (object storage). */
  freeBytes(): Promise<number | null>;
  /**
   * A recording whose writer died (gateway killed) before finishing it: makes what reached the
   * store readable (S3: completes the multipart upload with the parts uploaded). Call only for a
   * session that is no longer live. 'recovered' and 'empty' mean the recording lost its end.
   */
  recover(name: RecordingName): Promise<Recovery>;
  /** Recordings whose writer has not finished them (S3: an upload with its manifest); a file is never unfinished. */
  unfinished(): Promise<RecordingName[]>;
  /** Checks that the store takes writes now (readiness); rejects with the reason. */
  probe(): Promise<void>;
  close(): void;
}

/** The error a read of a missing recording rejects with. */
export function notFound(name: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`no recording ${name}`), { code: 'ENOENT' });
}
