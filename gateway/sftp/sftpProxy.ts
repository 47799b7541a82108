// The SFTP switch: every request of the operator's SFTP client is checked, then passed as
// one request to the asset's SFTP server, and the answer passed back. Reading a file needs
// `download`; writing, creating, removing, renaming, hard links, mkdir/rmdir, setstat and
// symlinks need `upload`; looking (stat, realpath, directory listings, statvfs, expand-path,
// home-directory, limits) needs only the session's `connect`. copy-data copies between two
// handles the operator opened — the source for reading (`download` checked at its OPEN), the
// target for writing (`upload` at its OPEN) — and asks `upload` again as it writes.
//
// Streaming: a READ or WRITE is forwarded as one backend request and answered when the
// backend answers. At most MAX_IN_FLIGHT requests and MAX_IN_FLIGHT_BYTES of data are at the
// asset at once; later requests wait in order, and while any wait the client's channel
// window is not refilled (sftpChannel.ts backpressure), so the gateway holds a bounded
// amount per session however deep the client pipelines (paramiko asks for a whole file at
// once). Nothing is failed for being too many. A file read front to back is read ahead
// (readAhead.ts), so a client that keeps little in flight (PuTTY) does not wait for the
// asset's round trip on every READ; answers to one handle's READs go out in order.
//
// Handles given to the operator are the gateway's own (4-byte counters), mapped to the
// backend's; a file handle counts its bytes, and its CLOSE writes one FileTransfer row.
import type { Attributes, FileEntry, SFTPWrapper, Stats } from 'ssh2';
import type { Logger } from '../../core/logger.ts';
import type { FileTransfer } from '../../core/db/entities/index.ts';
import { oneLine } from '../terminalErrors.ts';
import { BackendSftp, OPEN_FLAGS, SFTP_STATUS, failureOf, inputAttributes } from './backendSftp.ts';
import { answerBytesCopied, backpressure, coalesceAnswers, holdInit, outgoingBacklog, sendExitStatus, sendPacket, stopWaitingForWindow, whenWindowOpens, windowHasRoom, writeStderr, type Backpressure, type InitGate } from './sftpChannel.ts';
import { ReadAhead, ReadAheadBudget } from './readAhead.ts';
import { ReadBuffers, type SpareReadBuffers } from './readBuffers.ts';
import { ExtendedReader, LIMITS_EXTENSION, announcedExtensions, limitsReply, statvfsReply, type ForwardedExtension } from './sftpExtensions.ts';

/** Requests at the asset at once; more wait in the gateway (OpenSSH's sftp and scp keep 64 outstanding). */
export const MAX_IN_FLIGHT = 256;
/** READ lengths and WRITE data at the asset at once: 4 MiB per session (twice what OpenSSH keeps in flight), the gateway's memory bound. */
const MAX_IN_FLIGHT_BYTES = 4 * 1024 * 1024;
/**
 * Answers waiting for a slow client's window beyond which no new request is sent to the
 * asset: what is already there still answers (at most MAX_IN_FLIGHT_BYTES more).
 */
const MAX_OUTGOING_BACKLOG = 2 * 1024 * 1024;
/** Longest SFTP packet ssh2's server side accepts (OpenSSH's sftp-server takes the same). */
const MAX_PACKET = 256 * 1024;
/**
 * The READ/WRITE length announced in limits@openssh.com: 32 KiB, what OpenSSH's sftp and scp
 * use when no limits are announced. They size their requests by it and keep 64 outstanding;
 * sftp-server's 255 KiB made a 256 MiB scp upload grow the gateway by 55-67 MiB instead of
 * 12-15 MiB, at the same speed (1.8-2.1 s) on loopback, so the gateway does not pass it on.
 */
const ADVERTISED_IO = 32 * 1024;
/** Refusals said on the client's stderr per session (each is also a FileTransfer row). */
const MAX_REFUSAL_LINES = 20;
/** Open handles per session; OpenSSH's sftp-server allows 512. */
const MAX_HANDLES = 512;
/** Longest READ answered in one piece (a short read is allowed by the protocol); fits MAX_PACKET. */
const MAX_READ = MAX_PACKET - 1024;

export type TransferAction = 'upload' | 'download';

export interface TransferEntry {
  operation: FileTransfer['operation'];
  path: string;
  targetPath?: string;
  size?: number;
  ok: boolean;
  message?: string;
}

/** What the proxy needs from the session around it. */
export interface SftpPolicy {
  /** null when the action is allowed now; otherwise the words of the refusal. */
  refusal(action: TransferAction): Promise<string | null>;
  /**
   * Calls `onLost` once `action` is revoked while a file opened with it is still open (rule 11's
   * re-check: an OPEN was allowed, its READs and WRITEs are not asked again one by one). Returns how to stop watching.
   */
  whileAllowed(action: TransferAction, onLost: (why: string) => void): () => void;
  /** One FileTransfer row (written in the background). */
  record(entry: TransferEntry): void;
  /** Payload bytes moved: operator → asset, asset → operator. */
  count(input: number, output: number): void;
}

interface FileHandle {
  kind: 'file';
  backend: Buffer;
  path: string;
  reads: boolean;
  writes: boolean;
  bytesRead: number;
  bytesWritten: number;
  /** The first failed READ or WRITE, which makes the transfer not ok. */
  failure: string | null;
  /** Handles opened for reading only are read ahead when read front to back (readAhead.ts). */
  ahead: ReadAhead | null;
  /** READs sent on and not answered yet, in the order they came: answers go out in that order. */
  unanswered: ReadSlot[];
  /** Answers wait for the client's window: a wake-up is set. */
  awaitingWindow: boolean;
  /** Why the handle may no longer be used: the action its OPEN was allowed by was revoked since. */
  revoked: string | null;
  /** Stops watching the actions the handle was opened with. */
  unwatch: () => void;
}

interface DirHandle {
  kind: 'dir';
  backend: Buffer;
  path: string;
}

type Handle = FileHandle | DirHandle;

/** A READ sent on, until it is answered (#read). */
interface ReadSlot {
  h: FileHandle;
  id: number;
  /** Where and how much is asked of the asset (at most MAX_READ). */
  offset: number;
  want: number;
  /** The client's length: an empty answer to a READ of more is the end of the file. */
  length: number;
  /** Counted against MAX_IN_FLIGHT_BYTES until answered. */
  cost: number;
  /** The data, once back; null when it failed (or is not back yet). */
  data: Buffer | null;
  failure: unknown;
  done: boolean;
}
type Work = (backend: BackendSftp) => Promise<void>;

/**
 * A request waiting in the gateway, one small record: paramiko asks for every 32 KiB of a
 * 1 GiB file at once (31,000 READs).
 */
interface Queued {
  /** The request's work; null for a READ (of `h`, `id`, `offset`, `length`). */
  run: Work | null;
  h: FileHandle | null;
  id: number;
  offset: number;
  length: number;
  /** Bytes the request moves (READ length, WRITE data), counted against MAX_IN_FLIGHT_BYTES. */
  cost: number;
  /** Bytes it holds while it waits (WRITE data; a READ holds only its few arguments). */
  held: number;
}

/** What the proxy held at its peak, for the report and the tests that bound it. */
export interface SftpProxyStats {
  /** WRITE data waiting in the gateway at most. */
  maxQueuedBytes: number;
  /** Requests waiting in the gateway at most (paramiko sends a READ for every 32 KiB of a file at once). */
  maxQueued: number;
  /** Bytes of requests at the asset at once at most. */
  maxInFlightBytes: number;
  /**
   * Bytes of READ answers the client's window did not take, copied into ssh2's queue to wait:
   * answers wait for the window in their read buffers instead (#answerReads), so this is at most
   * a partly sent answer each time the window closes.
   */
  answerBytesCopied: number;
  /** Bytes of answers waiting for the client's window at most (MAX_OUTGOING_BACKLOG bounds it, give or take what one read of the client answers). */
  maxAnswerBacklog: number;
  readAhead: ReadAheadBudget['stats'];
}

export class SftpProxy {
  readonly #sftp: SFTPWrapper;
  readonly #policy: SftpPolicy;
  readonly #log: Logger;
  #backend: BackendSftp | null = null;
  /** Requests not yet sent to the asset, oldest first (all of them while it is connecting). */
  #queue: Queued[] = [];
  #inFlight = 0;
  #inFlightBytes = 0;
  #queuedBytes = 0;
  readonly #readAhead = new ReadAheadBudget();
  readonly #buffers: ReadBuffers;
  readonly #stats = { maxQueuedBytes: 0, maxQueued: 0, maxInFlightBytes: 0, maxAnswerBacklog: 0 };
  readonly #flow: Backpressure;
  readonly #init: InitGate;
  /** The extensions announced to the client (a subset of the asset's). */
  #extensions = new Set<string>();
  #nextHandle = 1;
  readonly #handles = new Map<number, Handle>();
  #closed = false;
  #finished = false;
  #refusalsSaid = 0;
  #pumping = false;
  #pumpAgain = false;
  /** A wake-up is set for when the client opens its window (answers were piling up). */
  #awaitingWindow = false;
  #resolveDone!: (why: string) => void;
  /** Resolves once the operator's channel is closed, with why. */
  readonly done: Promise<string>;

  /** `spares`: the gateway's read buffers between sessions (readBuffers.ts). */
  constructor(sftp: SFTPWrapper, policy: SftpPolicy, log: Logger, spares: SpareReadBuffers | null = null) {
    this.#sftp = sftp;
    this.#buffers = new ReadBuffers(spares);
    this.#policy = policy;
    this.#log = log;
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
    // Order matters: holdInit wraps the backpressure hook and restores it after INIT.
    this.#flow = backpressure(sftp, () => this.#queue.length > 0, () => this.#answersPiling());
    this.#init = holdInit(sftp);
    // READ answers share packets towards the client (PuTTY allows only 16 KiB ones).
    coalesceAnswers(sftp);
    this.#listen();
  }

  get stats(): SftpProxyStats {
    return { ...this.#stats, answerBytesCopied: answerBytesCopied(this.#sftp), readAhead: { ...this.#readAhead.stats } };
  }

  /** The backend is ready: requests that waited for it go first, in order. */
  attach(backend: BackendSftp): void {
    if (this.#closed) {
      backend.end();
      return;
    }
    this.#backend = backend;
    backend.onError((err) => this.#log.debug({ err }, 'backend sftp error'));
    backend.onClose(() => this.close(null, 'the server closed the sftp session'));
    const announced = announcedExtensions(backend.extensions());
    this.#extensions = new Set(announced.map(([name]) => name));
    this.#init.release(announced);
    this.#pump();
  }

  /**
   * Ends the operator's channel: the line (if any) goes to the client's stderr first.
   * Transfers still open are recorded as not finished.
   */
  close(line: string | null, why: string, exitStatus = 1): void {
    if (this.#closed) return;
    this.#closed = true;
    if (line) writeStderr(this.#sftp, line);
    // scp (SFTP mode) judges the transfer by the exit status, as sshd sends it for sftp-server.
    sendExitStatus(this.#sftp, exitStatus);
    this.#finish(why);
  }

  #finish(why: string): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#closed = true;
    this.#sftp.end();
    this.#queue = [];
    this.#queuedBytes = 0;
    for (const h of this.#handles.values()) {
      if (h.kind !== 'file') continue;
      h.ahead?.close();
      h.unwatch();
      this.#recordTransfer(h, 'the session ended before the file was closed');
    }
    this.#handles.clear();
    stopWaitingForWindow(this.#sftp);
    this.#buffers.clear();
    this.#backend?.end();
    this.#resolveDone(why);
  }

  #listen(): void {
    const sftp = this.#sftp;
    sftp.on('error', (err: Error) => this.#log.debug({ err }, 'operator sftp error'));
    sftp.once('end', () => {
      // The client is done (EOF): like sftp-server exiting, the session ends with status 0.
      if (!this.#closed) sendExitStatus(sftp, 0);
      this.#finish('operator closed the sftp session');
    });
    sftp.once('close', () => this.#finish('operator closed the sftp session'));

    sftp.on('OPEN', (id, path, flags, attrs) => this.#request(id, (b) => this.#open(b, id, path, flags, attrs), 0, writesOf(flags)));
    sftp.on('READ', (id, handle, offset, length) => {
      const h = this.#file(id, handle, 'reads');
      if (h && !this.#closed) this.#enqueue({ run: null, h, id, offset, length, cost: Math.min(length, MAX_READ), held: 0 });
    });
    sftp.on('WRITE', (id, handle, offset, data) => {
      const h = this.#file(id, handle, 'writes');
      // Over ssh2's largest backend packet the buffer is kept past this tick: own a copy.
      const own = data.length > 64 * 1024 ? Buffer.from(data) : data;
      if (h) this.#request(id, (b) => this.#write(b, id, h, offset, own), own.length, true, own.length);
    });
    sftp.on('FSTAT', (id, handle) => {
      const h = this.#handle(id, handle);
      if (h) this.#request(id, async (b) => this.#attrs(id, await b.fstat(h.backend)));
    });
    sftp.on('FSETSTAT', (id, handle, attrs) => {
      const h = this.#handle(id, handle);
      if (h) {
        this.#request(id, async (b) => {
          if (!(await this.#allowed(id, 'upload', { operation: 'setstat', path: h.path }))) return;
          await b.fsetstat(h.backend, inputAttributes(attrs));
          this.#ok(id);
        }, 0, true);
      }
    });
    sftp.on('CLOSE', (id, handle) => {
      const h = this.#handle(id, handle);
      if (!h) return;
      this.#handles.delete(handle.readUInt32BE(0));
      if (h.kind === 'file') {
        h.ahead?.close();
        h.unwatch();
      }
      this.#request(id, (b) => this.#close(b, id, h));
    });
    sftp.on('OPENDIR', (id, path) => this.#request(id, async (b) => {
      const backend = await b.opendir(path);
      this.#newHandle(id, { kind: 'dir', backend, path });
    }));
    sftp.on('READDIR', (id, handle) => {
      const h = this.#handle(id, handle);
      if (h) this.#request(id, async (b) => this.#names(id, await b.readdir(h.backend)));
    });
    sftp.on('STAT', (id, path) => this.#request(id, async (b) => this.#attrs(id, await b.stat(path))));
    sftp.on('LSTAT', (id, path) => this.#request(id, async (b) => this.#attrs(id, await b.lstat(path))));
    sftp.on('REALPATH', (id, path) => this.#request(id, async (b) => this.#names(id, [nameOnly(await b.realpath(path))])));
    sftp.on('READLINK', (id, path) => this.#request(id, async (b) => this.#names(id, [nameOnly(await b.readlink(path))])));
    sftp.on('REMOVE', (id, path) => this.#change(id, { operation: 'delete', path }, (b) => b.unlink(path)));
    sftp.on('RENAME', (id, from, to) => this.#change(id, { operation: 'rename', path: from, targetPath: to }, (b) => b.rename(from, to)));
    sftp.on('MKDIR', (id, path, attrs) => this.#change(id, { operation: 'mkdir', path }, (b) => b.mkdir(path, inputAttributes(attrs))));
    sftp.on('RMDIR', (id, path) => this.#change(id, { operation: 'rmdir', path }, (b) => b.rmdir(path)));
    sftp.on('SETSTAT', (id, path, attrs) => this.#change(id, { operation: 'setstat', path }, (b) => b.setstat(path, inputAttributes(attrs))));
    sftp.on('SYMLINK', (id, linkPath, targetPath) => this.#change(id, { operation: 'symlink', path: linkPath, targetPath }, (b) => b.symlink(targetPath, linkPath)));
    sftp.on('EXTENDED', (id, name, data) => this.#extended(id, name, data));
  }

  /**
   * Queues one request for the backend; failures become a status. A request that may change
   * a file (`changes`) holds the session's read-ahead back while it is at the asset.
   */
  #request(id: number, work: Work, cost = 0, changes = false, held = 0): void {
    if (this.#closed) return;
    const ahead = this.#readAhead;
    const run: Work = (b) => {
      if (changes) ahead.beginChange();
      return work(b).catch((err: unknown) => {
        const f = failureOf(err);
        this.#status(id, f.code, f.message);
      }).finally(() => {
        if (changes) ahead.endChange();
      });
    };
    this.#enqueue({ run, h: null, id, offset: 0, length: 0, cost, held });
  }

  #enqueue(q: Queued): void {
    this.#queue.push(q);
    this.#queuedBytes += q.held;
    this.#stats.maxQueuedBytes = Math.max(this.#stats.maxQueuedBytes, this.#queuedBytes);
    this.#stats.maxQueued = Math.max(this.#stats.maxQueued, this.#queue.length);
    this.#pump();
  }

  /**
   * Sends queued requests to the backend while the window allows, in the order they came. A READ
   * served from what was read ahead is answered at once, and its answer calls #pump again:
   * that call only marks the work, the loop under way goes on (no recursion per READ).
   */
  #pump(): void {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#pumpAgain = false;
        this.#pumpOnce();
      } while (this.#pumpAgain);
    } finally {
      this.#pumping = false;
    }
  }

  #pumpOnce(): void {
    const b = this.#backend;
    if (!b || this.#closed) return;
    while (this.#queue.length > 0 && this.#inFlight < MAX_IN_FLIGHT) {
      // A client that reads slower than the asset answers (paramiko asks for a whole file at
      // once) is not sent more answers than its window takes: wait for it, then go on.
      if (outgoingBacklog(this.#sftp) > MAX_OUTGOING_BACKLOG) {
        this.#wakeOnWindow();
        return;
      }
      const next = this.#queue[0]!;
      if (this.#inFlight > 0 && this.#inFlightBytes + next.cost > MAX_IN_FLIGHT_BYTES) break;
      this.#queue.shift();
      this.#queuedBytes -= next.held;
      this.#inFlight++;
      this.#inFlightBytes += next.cost;
      this.#stats.maxInFlightBytes = Math.max(this.#stats.maxInFlightBytes, this.#inFlightBytes);
      if (next.run) {
        void next.run(b).catch((err: unknown) => this.#log.debug({ err }, 'sftp request failed')).finally(() => {
          this.#inFlight--;
          this.#inFlightBytes -= next.cost;
          this.#pump();
        });
      } else if (next.h) {
        // Answered (and taken off the counts) by #answerReads.
        this.#read(b, next.h, next.id, next.offset, next.length, next.cost);
      }
    }
    if (this.#queue.length === 0) this.#flow.resume();
  }

  /**
   * Whether answers pile up for a client that does not open its window: the client is then not
   * read until it does (sftpChannel.ts backpressure). Requests the gateway answers at once, without
   * the asset (a READ of an invalid handle, of a file not opened for reading), never wait in the
   * queue: a client that sent them and read no answers had them pile up in the gateway without
   * bound (+48 MiB for 400,000 READs of an invalid handle; DESIGN rule 13).
   */
  #answersPiling(): boolean {
    const backlog = outgoingBacklog(this.#sftp);
    if (backlog > this.#stats.maxAnswerBacklog) this.#stats.maxAnswerBacklog = backlog;
    if (backlog <= MAX_OUTGOING_BACKLOG) return false;
    this.#wakeOnWindow();
    return true;
  }

  /** Pumps again once the client opens its window (answers were piling up). */
  #wakeOnWindow(): void {
    if (this.#awaitingWindow) return;
    this.#awaitingWindow = true;
    whenWindowOpens(this.#sftp, () => {
      this.#awaitingWindow = false;
      this.#pump();
    });
  }

  /** An OpenSSH extension request: only those announced are passed on, each with its check. */
  #extended(id: number, name: string, data: Buffer | undefined): void {
    if (name !== LIMITS_EXTENSION && !this.#extensions.has(name)) {
      this.#status(id, SFTP_STATUS.OP_UNSUPPORTED, `the extension ${name.slice(0, 64)} is not supported`);
      return;
    }
    const r = new ExtendedReader(data);
    try {
      this.#extendedRequest(id, name as ForwardedExtension | typeof LIMITS_EXTENSION, r);
    } catch {
      this.#status(id, SFTP_STATUS.BAD_MESSAGE, `malformed ${name.slice(0, 64)} request`);
    }
  }

  #extendedRequest(id: number, name: ForwardedExtension | typeof LIMITS_EXTENSION, r: ExtendedReader): void {
    switch (name) {
      case LIMITS_EXTENSION: {
        // The gateway's own limits, no larger than the asset's: what the client may send here.
        const read = Math.min(ADVERTISED_IO, this.#backend?.maxReadLength() ?? ADVERTISED_IO);
        sendPacket(this.#sftp, limitsReply(id, { maxPacketLength: MAX_PACKET, maxReadLength: read, maxWriteLength: ADVERTISED_IO, maxOpenHandles: MAX_HANDLES }));
        return;
      }
      case 'posix-rename@openssh.com': {
        const from = r.text();
        const to = r.text();
        this.#change(id, { operation: 'rename', path: from, targetPath: to }, (b) => b.posixRename(from, to));
        return;
      }
      case 'hardlink@openssh.com': {
        // A second name for an existing file: it changes the asset's tree like a rename, so `upload`.
        const oldPath = r.text();
        const newPath = r.text();
        this.#change(id, { operation: 'hardlink', path: newPath, targetPath: oldPath }, (b) => b.hardlink(oldPath, newPath));
        return;
      }
      case 'statvfs@openssh.com': {
        const path = r.text();
        this.#request(id, async (b) => this.#send(statvfsReply(id, await b.statvfs(path))));
        return;
      }
      case 'fstatvfs@openssh.com': {
        const h = this.#handle(id, r.string());
        if (h) this.#request(id, async (b) => this.#send(statvfsReply(id, await b.fstatvfs(h.backend))));
        return;
      }
      case 'fsync@openssh.com': {
        const h = this.#file(id, r.string());
        if (h) this.#request(id, async (b) => {
          await b.fsync(h.backend);
          this.#ok(id);
        });
        return;
      }
      case 'expand-path@openssh.com': {
        const path = r.text();
        this.#request(id, async (b) => this.#names(id, [nameOnly(await b.expandPath(path))]));
        return;
      }
      case 'home-directory': {
        const user = r.text();
        this.#request(id, async (b) => this.#names(id, [nameOnly(await b.homeDirectory(user))]));
        return;
      }
      case 'copy-data': {
        const from = this.#file(id, r.string());
        if (!from) return;
        const fromOffset = r.uint64();
        const length = r.uint64();
        const to = this.#file(id, r.string());
        if (!to) return;
        const toOffset = r.uint64();
        this.#copy(id, from, fromOffset, length, to, toOffset);
        return;
      }
    }
  }

  /** copy-data between two open files, recorded as one `copy` row (source → target). */
  #copy(id: number, from: FileHandle, fromOffset: number, length: number, to: FileHandle, toOffset: number): void {
    const entry = { operation: 'copy' as const, path: from.path, targetPath: to.path };
    if (!from.reads || !to.writes) {
      this.#status(id, SFTP_STATUS.PERMISSION_DENIED, 'copy-data needs a source open for reading and a target open for writing');
      return;
    }
    this.#request(id, async (b) => {
      if (!(await this.#allowed(id, 'upload', entry))) return;
      try {
        await b.copyData(from.backend, fromOffset, length, to.backend, toOffset);
      } catch (err) {
        this.#policy.record({ ...entry, ok: false, message: failureOf(err).message });
        throw err;
      }
      // Length 0 means "to the end of the source": the size is what the target now holds past its offset.
      const size = length > 0 ? length : Math.max(0, ((await b.fstat(to.backend).catch(() => null))?.size ?? toOffset) - toOffset);
      this.#policy.record({ ...entry, ok: true, size });
      this.#ok(id);
    }, 0, true);
  }

  async #open(b: BackendSftp, id: number, path: string, flags: number, attrs: Attributes): Promise<void> {
    const reads = readsOf(flags);
    const writes = writesOf(flags);
    if (writes && !(await this.#allowed(id, 'upload', { operation: 'upload', path }))) return;
    if (reads && !(await this.#allowed(id, 'download', { operation: 'download', path }))) return;
    if (this.#handles.size >= MAX_HANDLES) {
      this.#status(id, SFTP_STATUS.FAILURE, 'too many open files');
      return;
    }
    let backend: Buffer;
    try {
      backend = await b.open(path, flags, inputAttributes(attrs));
    } catch (err) {
      const f = failureOf(err);
      this.#policy.record({ operation: writes ? 'upload' : 'download', path, ok: false, message: f.message });
      throw err;
    }
    const buffers = this.#buffers;
    // One promise per span, not an async function around read()'s: a span lives until its READs are answered.
    const spanRead = (offset: number, length: number, parts = 1): Promise<Buffer> => new Promise((resolve, reject) => {
      b.readInto(backend, length, offset, buffers.take(length), parts, (n, data, err) => {
        if (!data) return reject(err);
        buffers.share(data, n);
        resolve(data);
      });
    });
    const ahead = reads && !writes ? new ReadAhead(this.#readAhead, spanRead, (d) => buffers.give(d), b.maxReadLength() ?? undefined) : null;
    const h: FileHandle = { kind: 'file', backend, path, reads, writes, bytesRead: 0, bytesWritten: 0, failure: null, ahead, unanswered: [], awaitingWindow: false, revoked: null, unwatch: () => undefined };
    // Data read under the OPEN's check is not handed out after the action is revoked, nor written.
    const watching = [...(reads ? ['download' as const] : []), ...(writes ? ['upload' as const] : [])].map((action) => this.#policy.whileAllowed(action, (why) => this.#revoke(h, why)));
    h.unwatch = () => watching.forEach((stop) => stop());
    this.#newHandle(id, h);
  }

  /**
   * One READ, sent on: to the asset, or served from what was read ahead. Its answer goes out
   * after the answers to the handle's earlier READs (#answerReads): data read ahead is often
   * here before the asset has answered an earlier READ sent on as it came, and PuTTY ends the
   * transfer ("Lost connection") on an answer out of order.
   *
   * No promise of its own: a READ lives until the asset has answered it, the READs before it
   * have been answered and the client's window takes its answer — megabytes of traffic later,
   * long enough for V8 to move what it holds to its old generation, where it dies and only a
   * full collection frees it. An async #read, its ordering promise and the pump's catch/finally
   * left ~2 KiB per READ there: a 1 GiB paramiko get (31,000 READs) grew the heap by 20 MiB
   * between full collections. A ReadSlot is one small object.
   */
  #read(b: BackendSftp, h: FileHandle, id: number, offset: number, length: number, cost: number): void {
    const slot: ReadSlot = { h, id, offset, want: Math.min(length, MAX_READ), length, cost, data: null, failure: null, done: false };
    h.unanswered.push(slot);
    if (!h.ahead?.takeFor(offset, slot.want, slot, this.#served)) this.#fromAsset(b, slot);
  }

  /** Not read ahead: the READ goes to the asset as it came. */
  #fromAsset(b: BackendSftp, slot: ReadSlot): void {
    b.readInto(slot.h.backend, slot.want, slot.offset, this.#buffers.take(slot.want), slot, this.#settled);
  }

  /** What was read ahead for a READ (null: the span did not cover it, ask the asset). */
  readonly #served = (slot: ReadSlot, data: Buffer | null): void => {
    if (data) this.#settled(slot, data, null);
    else if (this.#backend) this.#fromAsset(this.#backend, slot);
    else this.#settled(slot, null, new Error('the session has ended'));
  };

  readonly #settled = (slot: ReadSlot, data: Buffer | null, failure: unknown): void => {
    slot.data = data;
    slot.failure = failure;
    slot.done = true;
    this.#answerReads(slot.h);
  };

  /**
   * Answers the handle's READs that are back, in order, while the client's window has room: an
   * answer the window does not take would wait as a copy in ssh2's queue (sftpChannel.ts
   * windowHasRoom); here it waits in its read buffer, which is used again.
   */
  #answerReads(h: FileHandle): void {
    const slots = h.unanswered;
    let answered = false;
    while (slots.length > 0 && slots[0]!.done) {
      if (!this.#closed && !windowHasRoom(this.#sftp)) {
        if (!h.awaitingWindow) {
          h.awaitingWindow = true;
          whenWindowOpens(this.#sftp, () => {
            h.awaitingWindow = false;
            this.#answerReads(h);
          });
        }
        break;
      }
      const slot = slots.shift()!;
      this.#answerRead(h, slot);
      this.#inFlight--;
      this.#inFlightBytes -= slot.cost;
      answered = true;
    }
    if (answered) this.#pump();
  }

  #answerRead(h: FileHandle, { id, length, data, failure }: ReadSlot): void {
    // Revoked while the READ was at the asset (or read ahead before): the data is not handed out.
    if (h.revoked) {
      if (data) this.#buffers.give(data);
      this.#status(id, SFTP_STATUS.PERMISSION_DENIED, h.revoked);
      return;
    }
    if (!data) {
      const f = failureOf(failure);
      h.failure ??= f.message;
      this.#status(id, f.code, f.message);
      return;
    }
    if (data.length === 0 && length > 0) {
      this.#status(id, SFTP_STATUS.EOF);
      return;
    }
    h.bytesRead += data.length;
    this.#policy.count(0, data.length);
    // data() copies the answer into its packet: the buffer is free again.
    if (!this.#closed) this.#sftp.data(id, data);
    this.#buffers.give(data);
  }

  async #write(b: BackendSftp, id: number, h: FileHandle, offset: number, data: Buffer): Promise<void> {
    // Revoked while the WRITE waited in the queue.
    if (h.revoked) {
      this.#status(id, SFTP_STATUS.PERMISSION_DENIED, h.revoked);
      return;
    }
    try {
      await b.write(h.backend, data, offset);
    } catch (err) {
      h.failure ??= failureOf(err).message;
      throw err;
    }
    h.bytesWritten += data.length;
    this.#policy.count(data.length, 0);
    this.#ok(id);
  }

  async #close(b: BackendSftp, id: number, h: Handle): Promise<void> {
    try {
      await b.close(h.backend);
    } catch (err) {
      if (h.kind === 'file') this.#recordTransfer(h, failureOf(err).message);
      throw err;
    }
    if (h.kind === 'file') this.#recordTransfer(h, null);
    this.#ok(id);
  }

  /** A request that changes the asset's files: needs `upload`, and is recorded either way. */
  #change(id: number, entry: Omit<TransferEntry, 'ok'>, run: (b: BackendSftp) => Promise<void>): void {
    this.#request(id, async (b) => {
      if (!(await this.#allowed(id, 'upload', entry))) return;
      try {
        await run(b);
      } catch (err) {
        this.#policy.record({ ...entry, ok: false, message: failureOf(err).message });
        throw err;
      }
      this.#policy.record({ ...entry, ok: true });
      this.#ok(id);
    }, 0, true);
  }

  /** Asks the policy; a refusal is answered (PERMISSION_DENIED) and recorded here. */
  async #allowed(id: number, action: TransferAction, entry: Omit<TransferEntry, 'ok'> | null): Promise<boolean> {
    const refusal = await this.#policy.refusal(action);
    if (refusal === null) return true;
    this.#status(id, SFTP_STATUS.PERMISSION_DENIED, refusal);
    // Clients print only "Permission denied" for the status: the line on stderr says which action is missing.
    if (this.#refusalsSaid++ < MAX_REFUSAL_LINES) writeStderr(this.#sftp, `[bastion] ${entry ? `${entry.operation} ${entry.path.slice(0, 200)}: ` : ''}${refusal}`);
    if (entry) this.#policy.record({ ...entry, ok: false, message: refusal });
    this.#log.info({ action, path: entry?.path.slice(0, 300) }, 'sftp request refused');
    return false;
  }

  /** One row per direction the handle moved data in (an opened-and-closed file counts as its open mode). */
  #recordTransfer(h: FileHandle, closeFailure: string | null): void {
    const message = h.failure ?? closeFailure ?? undefined;
    const ok = message === undefined;
    const base = { path: h.path, ok, ...(message ? { message } : {}) };
    if (h.writes) this.#policy.record({ ...base, operation: 'upload', size: h.bytesWritten });
    if (h.reads && (!h.writes || h.bytesRead > 0)) this.#policy.record({ ...base, operation: 'download', size: h.bytesRead });
  }

  /** The handle's action was revoked: what was read ahead is dropped, and nothing more goes through it. */
  #revoke(h: FileHandle, why: string): void {
    h.revoked ??= why;
    h.failure ??= why;
    h.ahead?.close();
    h.ahead = null;
    h.unwatch();
  }

  #newHandle(id: number, h: Handle): void {
    if (this.#closed) {
      if (h.kind === 'file') {
        h.ahead?.close();
        h.unwatch();
      }
      void this.#backend?.close(h.backend).catch(() => undefined);
      return;
    }
    const n = this.#nextHandle;
    this.#nextHandle = (this.#nextHandle % 0xffff_ffff) + 1;
    this.#handles.set(n, h);
    const buf = Buffer.allocUnsafe(4);
    buf.writeUInt32BE(n, 0);
    this.#sftp.handle(id, buf);
  }

  #handle(id: number, handle: Buffer): Handle | null {
    const h = handle.length === 4 ? this.#handles.get(handle.readUInt32BE(0)) : undefined;
    if (h) return h;
    this.#status(id, SFTP_STATUS.FAILURE, 'invalid handle');
    return null;
  }

  /** The file behind a handle; with `mode`, only one opened for that (what its OPEN was checked for). */
  #file(id: number, handle: Buffer, mode?: 'reads' | 'writes'): FileHandle | null {
    const h = this.#handle(id, handle);
    if (!h) return null;
    if (h.kind !== 'file') {
      this.#status(id, SFTP_STATUS.FAILURE, 'not a file handle');
      return null;
    }
    if (mode && !h[mode]) {
      this.#status(id, SFTP_STATUS.PERMISSION_DENIED, `the file was not opened for ${mode === 'reads' ? 'reading' : 'writing'}`);
      return null;
    }
    if (h.revoked) {
      this.#status(id, SFTP_STATUS.PERMISSION_DENIED, h.revoked);
      return null;
    }
    return h;
  }

  #ok(id: number): void {
    this.#status(id, SFTP_STATUS.OK);
  }

  #status(id: number, code: number, message?: string): void {
    if (this.#closed) return;
    this.#sftp.status(id, code, message === undefined ? undefined : oneLine(message));
  }

  #send(packet: Buffer): void {
    if (!this.#closed) sendPacket(this.#sftp, packet);
  }

  #attrs(id: number, stats: Stats): void {
    if (!this.#closed) this.#sftp.attrs(id, stats);
  }

  #names(id: number, names: FileEntry[]): void {
    if (!this.#closed) this.#sftp.name(id, names);
  }
}

/**
 * Whether the asset's file can be read through the handle: with READ, and also whenever WRITE
 * is absent — OpenSSH's sftp-server then opens it O_RDONLY, so CREAT, TRUNC or APPEND alone
 * give a readable file (an upload-only operator read any file that way).
 */
function readsOf(flags: number): boolean {
  return (flags & OPEN_FLAGS.READ) !== 0 || (flags & OPEN_FLAGS.WRITE) === 0;
}

function writesOf(flags: number): boolean {
  return (flags & (OPEN_FLAGS.WRITE | OPEN_FLAGS.CREAT | OPEN_FLAGS.TRUNC | OPEN_FLAGS.APPEND)) !== 0;
}

function nameOnly(path: string): FileEntry {
  return { filename: path, longname: path, attrs: {} as Attributes };
}
