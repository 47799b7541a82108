// One web file-manager session: the SSH `sftp` subsystem's pipeline (channels/sftp.ts) driven by
// HTTP requests instead of SFTP packets. The same steps, in the same order: resolve the target
// among the assets core/access grants, authorize `connect`, open an audited session (kind sftp,
// recording 'none': its FileTransfer rows are its record), log in to the asset with the pinned
// host key, open its SFTP server — one function for both (sftp/sftpSession.ts). Each operation then asks the same policy as
// the SSH path (sftp/sftpPolicy.ts: `upload` / `download` from core/access, afresh each time) and
// writes the same FileTransfer rows (operation, path, size, ok, message).
//
// Streaming: an upload is written as it arrives, with at most MAX_WRITE_BYTES at the asset at
// once, and all of one user's uploads together at most their UploadBudget (the request is paused
// beyond either); a download reads ahead at most READ_AHEAD chunks and waits for the browser's
// socket to drain. Memory per transfer, and per user, is bounded whatever the file sizes.
import type { Readable, Writable } from 'node:stream';
import type { Stats } from 'ssh2';
import type { User } from '../../core/db/entities/index.ts';
import type { Logger } from '../../core/logger.ts';
import { ConflictError, ForbiddenError, NotFoundError, UnavailableError, ValidationError, DomainError } from '../../core/errors.ts';
import type { GatewayContext, Operator } from '../context.ts';
import type { BackendClient } from '../backend.ts';
import type { LiveSession } from '../liveSession.ts';
import { OperatorError } from '../terminalErrors.ts';
import { BackendSftp, OPEN_FLAGS, SFTP_STATUS, failureOf } from '../sftp/backendSftp.ts';
import { sessionSftpPolicy, type SessionSftpPolicy } from '../sftp/sftpPolicy.ts';
import { openSftpSession, type OpenedSftp } from '../sftp/sftpSession.ts';
import type { TransferAction, TransferEntry } from '../sftp/sftpProxy.ts';
import type { UploadBudget } from './uploadBudget.ts';
import { drainOrClose } from '../streamBuffers.ts';

/** Bytes of one READ or WRITE request to the asset (OpenSSH's sftp uses 32 KiB; sftp-server takes up to 255 KiB). */
const CHUNK = 64 * 1024;
/** READs ahead of the browser during a download: 16 × 64 KiB = 1 MiB per download. */
const READ_AHEAD = 16;
/** WRITE data at the asset at once during an upload: 4 MiB, as the SSH proxy's bound per session. */
const MAX_WRITE_BYTES = 4 * 1024 * 1024;
/** Entries one listing returns; a directory with more is cut (and says so). */
export const MAX_LIST_ENTRIES = 5000;
/** Symbolic links in one listing whose target is looked at (to tell a link to a directory). */
const MAX_LINK_STATS = 200;

export interface WebOperator {
  user: User;
  /** The browser as the HTTP server sees it (rule 4). */
  clientAddress: string;
  log: Logger;
}

export interface FileEntryView {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  /** For a symbolic link: whether it leads to a directory (as the system user sees it). */
  linkToDirectory?: boolean;
  size: number;
  mode: number;
  modifiedAt: string | null;
}

export interface Listing {
  path: string;
  entries: FileEntryView[];
  truncated: boolean;
}

export interface Download {
  size: number;
  /** Streams the file into `out`, waiting for it to drain; true when all of it was sent. */
  pipeTo(out: Writable): Promise<boolean>;
  /** Closes the file without reading it (the response could not start). */
  abandon(reason: string): Promise<void>;
}

/** An SFTP status from the asset, as an HTTP error with the asset's own words. */
export function httpErrorOf(err: unknown): DomainError {
  if (err instanceof DomainError) return err;
  if (err instanceof OperatorError) return new ForbiddenError(err.message, { reason: 'operation_refused' });
  const f = failureOf(err);
  switch (f.code) {
    case SFTP_STATUS.NO_SUCH_FILE: return new NotFoundError(`no such file or directory (${f.message})`, { reason: 'file_not_found' });
    case SFTP_STATUS.PERMISSION_DENIED: return new ForbiddenError(`the server refused: ${f.message}`, { reason: 'file_permission_denied' });
    case SFTP_STATUS.CONNECTION_LOST: case SFTP_STATUS.NO_CONNECTION: return new UnavailableError(f.message, { reason: 'file_connection_lost' });
    case SFTP_STATUS.OP_UNSUPPORTED: return new ValidationError(`the server does not support this: ${f.message}`, { reason: 'file_op_unsupported' });
    default: return new ConflictError(`the server could not do it: ${f.message}`, { reason: 'file_op_failed' });
  }
}

/** The operation was refused by the policy: the FileTransfer row is written, the browser told why. */
export class TransferRefusedError extends ForbiddenError {}

export class FileSession {
  /** Requests (and transfers) running now: the pool does not close a busy session for idling. */
  busy = 0;
  lastUsedAt = Date.now();
  #closed = false;
  #closeReason = 'the file session has ended';

  private constructor(
    readonly live: LiveSession,
    private readonly client: BackendClient,
    private readonly sftp: BackendSftp,
    private readonly policy: SessionSftpPolicy,
    private readonly uploads: UploadBudget,
  ) {}

  /**
   * Opens the session for `asset` (name or address, as after `sftp -P 2222 alice@`) as system
   * user `systemUser` (name or login; null: the highest-priority one allowed to connect).
   * `uploads`: the per-user budget of upload bytes in flight, shared by the process's sessions.
   */
  static async open(gw: GatewayContext, op: WebOperator, asset: string, systemUser: string | null, uploads: UploadBudget): Promise<FileSession> {
    let live: LiveSession | null = null;
    const policy = sessionSftpPolicy(gw, () => live);
    let opened: OpenedSftp;
    try {
      opened = await openSftpSession(gw, webOperator(op, { username: op.user.username, systemUser, asset }), asset);
    } catch (err) {
      // Refusals are core/access's ForbiddenErrors; a session refused or an asset unreachable reads as unavailable.
      if (err instanceof OperatorError) throw new UnavailableError(err.message, { reason: 'asset_unavailable' });
      throw err;
    }
    const { client, backend, live: session } = opened;
    live = session;
    const fs = new FileSession(session, client, backend, policy, uploads);
    session.onTerminate((reason) => void fs.close(reason));
    backend.onError((err) => session.log.debug({ err }, 'backend sftp error'));
    backend.onClose(() => void fs.close('the server closed the sftp session'));
    client.on('close', () => void fs.close('the connection to the server was closed'));
    return fs;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Ends the session: the backend connection, the rows, the Session row. Idempotent. */
  async close(reason: string): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    this.sftp.end();
    this.client.end();
    await this.policy.flushed();
    await this.live.end({ status: 'closed', endReason: reason });
  }

  /** Runs one request against the session; a terminated session answers 410-like 503 with its reason. */
  async #use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new UnavailableError(this.live.termination?.reason ?? 'the file session has ended; try again', { reason: 'file_session_ended' });
    this.busy++;
    this.lastUsedAt = Date.now();
    try {
      return await fn();
    } catch (err) {
      throw httpErrorOf(err);
    } finally {
      this.busy--;
      this.lastUsedAt = Date.now();
    }
  }

  /** Asks the policy; a refusal is recorded (as the SSH proxy does) and thrown. */
  async #allow(action: TransferAction, entry: Omit<TransferEntry, 'ok'>): Promise<void> {
    const refusal = await this.policy.refusal(action);
    if (refusal === null) return;
    this.live.log.info({ action, path: entry.path.slice(0, 300) }, 'web file request refused');
    await this.#record({ ...entry, ok: false, message: refusal });
    throw new TransferRefusedError(`${entry.operation} ${entry.path.slice(0, 200)}: ${refusal}`, { reason: 'transfer_not_allowed' });
  }

  /**
   * Records a FileTransfer row and waits until it is written: each answer the browser gets,
   * done or refused, comes after its row, so whoever is told finds the row already there (an
   * auditor's list, a script that checks it). Rows are written in order, one session at a time.
   */
  async #record(entry: TransferEntry): Promise<void> {
    this.policy.record(entry);
    await this.policy.flushed();
  }

  /** A change to the asset's files: needs `upload`, recorded either way (sftpProxy #change). */
  async #change(entry: Omit<TransferEntry, 'ok'>, run: () => Promise<void>): Promise<void> {
    await this.#use(async () => {
      await this.#allow('upload', entry);
      try {
        await run();
      } catch (err) {
        await this.#record({ ...entry, ok: false, message: failureOf(err).message });
        throw err;
      }
      await this.#record({ ...entry, ok: true });
    });
  }

  /** The system user's home directory (where the file manager starts). */
  home(): Promise<string> {
    return this.#use(() => this.sftp.realpath('.'));
  }

  list(path: string): Promise<Listing> {
    return this.#use(async () => {
      const canonical = await this.sftp.realpath(path);
      const handle = await this.sftp.opendir(path);
      const entries: FileEntryView[] = [];
      let truncated = false;
      try {
        for (;;) {
          let batch;
          try {
            batch = await this.sftp.readdir(handle);
          } catch (err) {
            if (failureOf(err).code === SFTP_STATUS.EOF) break;
            throw err;
          }
          for (const e of batch) {
            if (e.filename === '.' || e.filename === '..') continue;
            if (entries.length >= MAX_LIST_ENTRIES) {
              truncated = true;
              break;
            }
            entries.push(entryView(e.filename, e.attrs));
          }
          if (truncated) break;
        }
      } finally {
        await this.sftp.close(handle).catch(() => undefined);
      }
      const links = entries.filter((e) => e.type === 'symlink').slice(0, MAX_LINK_STATS);
      await Promise.all(links.map(async (e) => {
        const target = await this.sftp.stat(joinPath(canonical, e.name)).catch(() => null);
        e.linkToDirectory = target ? target.isDirectory() : false;
      }));
      entries.sort((a, b) => Number(isDir(b)) - Number(isDir(a)) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return { path: canonical, entries, truncated };
    });
  }

  mkdir(path: string): Promise<void> {
    return this.#change({ operation: 'mkdir', path }, () => this.sftp.mkdir(path, {}));
  }

  rename(from: string, to: string): Promise<void> {
    // OpenSSH's plain RENAME refuses to replace an existing target: the file manager never overwrites by renaming.
    return this.#change({ operation: 'rename', path: from, targetPath: to }, () => this.sftp.rename(from, to));
  }

  /** Removes a file, or an empty directory (rmdir), as `sftp`'s rm and rmdir do. */
  remove(path: string): Promise<void> {
    return this.#use(async () => {
      const st = await this.sftp.lstat(path);
      if (st.isDirectory()) await this.#change({ operation: 'rmdir', path }, () => this.sftp.rmdir(path));
      else await this.#change({ operation: 'delete', path }, () => this.sftp.unlink(path));
    });
  }

  /**
   * Writes `body` to `path` as it arrives (created, or replaced when `overwrite`). Resolves with
   * the bytes written; a body that ends early (the browser cancelled) removes the partial file.
   */
  upload(path: string, body: Readable, overwrite: boolean): Promise<number> {
    return this.#use(async () => {
      const entry = { operation: 'upload' as const, path };
      await this.#allow('upload', entry);
      const flags = OPEN_FLAGS.WRITE | OPEN_FLAGS.CREAT | (overwrite ? OPEN_FLAGS.TRUNC : OPEN_FLAGS.EXCL);
      let handle: Buffer;
      try {
        // EXCL makes the asset refuse an existing file; asked first only to say so in plain words.
        if (!overwrite && (await this.sftp.lstat(path).then(() => true, () => false))) throw new ConflictError(`${path} exists already; upload it again to replace it`, { reason: 'file_exists' });
        handle = await this.sftp.open(path, flags, {});
      } catch (err) {
        await this.#record({ ...entry, ok: false, message: err instanceof ConflictError ? 'exists already' : failureOf(err).message });
        throw err;
      }
      let written = 0;
      let failure: string | null = null;
      // Revoked while it streams (rule 11, as for an SFTP file handle): it stops now, the row says why.
      let revoked: string | null = null;
      const stop = new AbortController();
      const unwatch = this.policy.whileAllowed('upload', (why) => {
        revoked = why;
        stop.abort();
      });
      const closed = this.#closedSignal();
      try {
        const budget = { userId: this.live.operator.user.id, uploads: this.uploads };
        written = await writeStream(this.sftp, handle, body, () => revoked ?? closed(), (n) => this.policy.count(n, 0), budget, stop.signal);
      } catch (err) {
        failure = err instanceof UploadCancelled ? err.message : failureOf(err).message;
        written = err instanceof UploadCancelled ? err.written : written;
        throw err;
      } finally {
        unwatch();
        let closeFailure: string | null = null;
        try {
          await this.sftp.close(handle);
        } catch (err) {
          closeFailure = failureOf(err).message;
        }
        if (failure !== null) {
          // A cancelled upload leaves no half file behind (the browser's user chose to stop it).
          const removed = await this.sftp.unlink(path).then(() => true, () => false);
          failure = `${failure}${removed ? '; the partial file was removed' : ''}`;
        }
        const message = failure ?? closeFailure;
        await this.#record({ ...entry, size: written, ok: message === null, ...(message ? { message } : {}) });
        if (failure === null && closeFailure !== null) throw Object.assign(new Error(closeFailure), { code: SFTP_STATUS.FAILURE });
      }
      return written;
    });
  }

  /** Opens `path` for a download (checked against `download`); the caller streams it. */
  async download(path: string): Promise<Download> {
    this.busy++;
    let handed = false;
    try {
      const result = await this.#use(async () => {
        const entry = { operation: 'download' as const, path };
        await this.#allow('download', entry);
        let handle: Buffer;
        let st: Stats;
        try {
          handle = await this.sftp.open(path, OPEN_FLAGS.READ, {});
          st = await this.sftp.fstat(handle);
        } catch (err) {
          await this.#record({ ...entry, ok: false, message: failureOf(err).message });
          throw err;
        }
        if (st.isDirectory()) {
          await this.sftp.close(handle).catch(() => undefined);
          await this.#record({ ...entry, ok: false, message: 'is a directory' });
          throw new ValidationError(`${path} is a directory`, { reason: 'is_a_directory' });
        }
        return { handle, size: st.size };
      });
      handed = true;
      let done = false;
      const finish = async (sent: number, failure: string | null): Promise<void> => {
        if (done) return;
        done = true;
        let message = failure;
        try {
          await this.sftp.close(result.handle);
        } catch (err) {
          message ??= failureOf(err).message;
        }
        await this.#record({ operation: 'download', path, size: sent, ok: message === null, ...(message ? { message } : {}) });
        this.busy--;
        this.lastUsedAt = Date.now();
      };
      return {
        size: result.size,
        pipeTo: async (out) => {
          let sent = 0;
          // Revoked while it streams (rule 11, as for an SFTP file handle): it stops now, the row says why.
          let revoked: string | null = null;
          const unwatch = this.policy.whileAllowed('download', (why) => {
            revoked = why;
            out.destroy();
          });
          const closed = this.#closedSignal();
          try {
            await readStream(this.sftp, result.handle, result.size, out, () => revoked ?? closed(), (n) => {
              sent += n;
              this.policy.count(0, n);
            }, () => finish(sent, null));
            await finish(sent, null);
            return true;
          } catch (err) {
            await finish(sent, err instanceof DownloadStopped ? err.message : failureOf(err).message);
            return false;
          } finally {
            unwatch();
          }
        },
        abandon: (reason) => finish(0, reason),
      };
    } finally {
      if (!handed) this.busy--;
    }
  }

  /** Why the session closed, once it has: transfers under way stop with it. */
  #closedSignal(): () => string | null {
    return () => (this.#closed ? this.#closeReason : null);
  }
}

class UploadCancelled extends Error {
  constructor(message: string, readonly written: number) {
    super(message);
  }
}

class DownloadStopped extends Error {}

/**
 * Request body → SFTP WRITEs at increasing offsets. The body is paused while MAX_WRITE_BYTES of
 * this upload, or the user's whole budget (UploadBudget), are at the asset; pieces received
 * meanwhile wait here (at most one body chunk: the body pauses at once).
 */
function writeStream(
  sftp: BackendSftp, handle: Buffer, body: Readable, closed: () => string | null, counted: (n: number) => void,
  budget: { userId: string; uploads: UploadBudget }, stopped?: AbortSignal,
): Promise<number> {
  const { userId, uploads } = budget;
  return new Promise((resolve, reject) => {
    let offset = 0;
    let acked = 0;
    let inFlight = 0;
    let ended = false;
    let failed = false;
    const queued: Buffer[] = [];
    let stopWaiting: (() => void) | null = null;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      queued.length = 0;
      stopWaiting?.();
      body.off('data', onData);
      body.resume();
      reject(err);
    };
    const maybeDone = (): void => {
      if (!failed && ended && inFlight === 0 && queued.length === 0) resolve(acked);
    };
    const pump = (): void => {
      stopWaiting = null;
      while (!failed && queued.length > 0) {
        const piece = queued[0]!;
        if (inFlight > 0 && inFlight + piece.length > MAX_WRITE_BYTES) break;
        if (!uploads.take(userId, piece.length)) {
          stopWaiting = uploads.whenFreed(userId, pump);
          break;
        }
        queued.shift();
        const at = offset;
        offset += piece.length;
        inFlight += piece.length;
        sftp.write(handle, piece, at).then(() => {
          inFlight -= piece.length;
          uploads.give(userId, piece.length);
          acked += piece.length;
          counted(piece.length);
          pump();
          maybeDone();
        }, (err: unknown) => {
          inFlight -= piece.length;
          uploads.give(userId, piece.length);
          fail(err);
        });
      }
      if (failed) return;
      if (queued.length > 0 || inFlight >= MAX_WRITE_BYTES) body.pause();
      else if (inFlight < MAX_WRITE_BYTES / 2 && body.isPaused()) body.resume();
    };
    const onData = (chunk: Buffer): void => {
      const why = closed();
      if (why) return fail(new UploadCancelled(why, acked));
      for (let p = 0; p < chunk.length; p += CHUNK) queued.push(chunk.subarray(p, Math.min(chunk.length, p + CHUNK)));
      pump();
    };
    body.on('data', onData);
    body.once('end', () => {
      ended = true;
      maybeDone();
    });
    // The browser went away (cancel, closed tab) before the whole body came.
    body.once('aborted', () => fail(new UploadCancelled('the upload was cancelled before it ended', acked)));
    body.once('close', () => {
      if (!ended) fail(new UploadCancelled('the upload was cancelled before it ended', acked));
    });
    body.once('error', (err) => fail(new UploadCancelled(`the upload failed: ${err.message}`, acked)));
    // Stopped from here (an action revoked): at once, not only when the next chunk comes.
    stopped?.addEventListener('abort', () => fail(new UploadCancelled(closed() ?? 'the upload was stopped', acked)), { once: true });
  });
}

/**
 * SFTP READs (READ_AHEAD of them outstanding, in order) → `out`, waiting for it to drain; at most
 * `size` bytes (the Content-Length already promised), fewer if the file ends first. The chunk
 * that completes `size` waits for `beforeLast` (the FileTransfer row): a browser that has the
 * whole file can already find its row, as for every other file operation.
 */
async function readStream(
  sftp: BackendSftp, handle: Buffer, size: number, out: Writable, closed: () => string | null, sent: (n: number) => void, beforeLast: () => Promise<void>,
): Promise<number> {
  let next = 0;
  let total = 0;
  let eof = false;
  const pending: { at: number; read: Promise<Buffer>; length: number }[] = [];
  const issue = (): void => {
    while (!eof && pending.length < READ_AHEAD && next < size) {
      const at = next;
      const length = Math.min(CHUNK, size - at);
      const read = sftp.read(handle, length, at);
      read.catch(() => undefined);
      pending.push({ at, read, length });
      next += length;
    }
  };
  let gone = false;
  const onClose = (): void => { gone = true; };
  out.once('close', onClose);
  try {
    issue();
    while (pending.length > 0) {
      const { at, read, length } = pending.shift()!;
      const data = await read;
      // Why it was stopped from here (session closed, action revoked) before "the browser went away".
      const why = closed();
      if (why) throw new DownloadStopped(why);
      if (gone || out.destroyed) throw new DownloadStopped('the download was cancelled before it ended');
      if (data.length === 0) {
        eof = true;
        break;
      }
      total += data.length;
      sent(data.length);
      if (data.length < length) {
        // A short read: what was asked after it starts at the wrong offset; ask again from here.
        pending.splice(0);
        next = at + data.length;
      }
      if (total === size) await beforeLast();
      if (!out.write(data)) await drainOrClose(out);
      issue();
    }
    if (total < size) throw new DownloadStopped(`the file shrank while it was read (${total} of ${size} bytes sent)`);
    return total;
  } finally {
    out.off('close', onClose);
  }
}

function entryView(name: string, attrs: Stats | { mode?: number; size?: number; mtime?: number }): FileEntryView {
  const mode = attrs.mode ?? 0;
  const kind = mode & 0o170000;
  const type = kind === 0o040000 ? 'directory' : kind === 0o100000 ? 'file' : kind === 0o120000 ? 'symlink' : 'other';
  return { name, type, size: attrs.size ?? 0, mode: mode & 0o7777, modifiedAt: attrs.mtime ? new Date(attrs.mtime * 1000).toISOString() : null };
}

function isDir(e: FileEntryView): boolean {
  return e.type === 'directory' || e.linkToDirectory === true;
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** The pipeline's operator for a web request: no SSH connection, the target from the request. */
function webOperator(op: WebOperator, target: Operator['target']): Operator {
  return { user: op.user, target, clientAddress: op.clientAddress, log: op.log, face: 'web' };
}
