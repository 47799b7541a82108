// The asset's SFTP server, as the gateway's SFTP proxy sees it: ssh2's client SFTP with its
// callbacks wrapped into promises once, here (STYLE rule 6). One call is one request to
// the backend, so memory stays bounded by what the operator's client has in flight.
import type { Attributes, FileEntry, InputAttributes, SFTPWrapper, Stats } from 'ssh2';
import type { BackendClient } from '../backend.ts';
import { OperatorError } from '../terminalErrors.ts';
import type { StatVfs } from './sftpExtensions.ts';
import { sendPacket } from './sftpChannel.ts';
import { takeDataDirectly, type DirectData } from './directData.ts';

/** The SFTP status codes (draft-ietf-secsh-filexfer-02, which ssh2 and OpenSSH speak). */
export const SFTP_STATUS = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

/** The pflags of an SFTP OPEN request. */
export const OPEN_FLAGS = { READ: 0x01, WRITE: 0x02, APPEND: 0x04, CREAT: 0x08, TRUNC: 0x10, EXCL: 0x20 } as const;

/** An error with the status the backend answered (or the one that describes the failure). */
export interface SftpFailure {
  code: number;
  message: string;
}

/** The status to pass back to the operator for a failed backend request. */
export function failureOf(err: unknown): SftpFailure {
  const e = err as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : 'failure';
  if (typeof e?.code === 'number' && e.code > 0 && e.code <= SFTP_STATUS.OP_UNSUPPORTED) return { code: e.code, message };
  // ssh2 fails every outstanding request this way when the backend channel goes.
  if (message === 'No response from server') return { code: SFTP_STATUS.CONNECTION_LOST, message: 'the connection to the server was lost' };
  return { code: SFTP_STATUS.FAILURE, message };
}

type Done<T> = (err: Error | undefined | null, value?: T) => void;

function call<T>(fn: (cb: Done<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((err, value) => (err ? reject(err) : resolve(value as T)));
  });
}

export class BackendSftp {
  readonly #sftp: SFTPWrapper;
  /** DATA answers copied straight into their READ's buffer (directData.ts); null if ssh2's shape did not allow it. */
  readonly directData: DirectData | null;

  constructor(sftp: SFTPWrapper) {
    this.#sftp = sftp;
    this.directData = takeDataDirectly(sftp);
  }

  /** Opens the SFTP subsystem on a logged-in backend connection. */
  static open(client: BackendClient): Promise<BackendSftp> {
    return new Promise((resolve, reject) => {
      client.sftp((err, sftp) => {
        if (err) reject(new OperatorError(`the server refused to start sftp: ${err.message}`));
        else resolve(new BackendSftp(sftp));
      });
    });
  }

  /** The extensions the asset's SFTP server announced in its VERSION (name → version string). */
  extensions(): Readonly<Record<string, string>> {
    const ext = (this.#sftp as unknown as { _extensions?: unknown })._extensions;
    if (typeof ext !== 'object' || ext === null) return {};
    return Object.fromEntries(Object.entries(ext).filter((e): e is [string, string] => typeof e[1] === 'string'));
  }

  /** How long a READ the asset answers in one piece (ssh2 learns it from limits@openssh.com). */
  maxReadLength(): number | null {
    const n = (this.#sftp as unknown as { _maxReadLen?: unknown })._maxReadLen;
    return typeof n === 'number' && n > 0 ? n : null;
  }

  /** Calls fn once the backend's SFTP channel has closed. */
  onClose(fn: () => void): void {
    this.#sftp.once('close', fn);
  }

  onError(fn: (err: Error) => void): void {
    this.#sftp.on('error', fn);
  }

  end(): void {
    this.#sftp.end();
  }

  open(path: string, flags: number, attrs: InputAttributes): Promise<Buffer> {
    return call((cb) => this.#sftp.open(path, flags, attrs, cb));
  }

  close(handle: Buffer): Promise<void> {
    return call((cb) => this.#sftp.close(handle, cb));
  }

  /** Reads up to `length` bytes at `position` (into `buf` when given); an empty buffer is the end of the file. */
  read(handle: Buffer, length: number, position: number, buf: Buffer = Buffer.allocUnsafe(length)): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.readInto(handle, length, position, buf, null, (_, data, err) => (data ? resolve(data) : reject(err)));
    });
  }

  /**
   * read() without a promise, for the proxy's READs: `done(key, data)`, or `done(key, null, err)`
   * (ssh2's throw included), one function for all READs. A promise and its closures per READ
   * were a good part of what each READ left in V8's old generation (sftpProxy.ts, ReadSlot).
   */
  readInto<K>(handle: Buffer, length: number, position: number, buf: Buffer, key: K, done: (key: K, data: Buffer | null, err: unknown) => void): void {
    try {
      this.#sftp.read(handle, buf, 0, length, position, (err, bytesRead) => {
        if (err) done(key, null, err);
        else done(key, bytesRead === length ? buf : buf.subarray(0, bytesRead), null);
      });
    } catch (err) {
      queueMicrotask(() => done(key, null, err));
    }
  }

  write(handle: Buffer, data: Buffer, position: number): Promise<void> {
    return call((cb) => this.#sftp.write(handle, data, 0, data.length, position, cb));
  }

  fstat(handle: Buffer): Promise<Stats> {
    return call((cb) => this.#sftp.fstat(handle, cb));
  }

  fsetstat(handle: Buffer, attrs: InputAttributes): Promise<void> {
    return call((cb) => this.#sftp.fsetstat(handle, attrs, cb));
  }

  opendir(path: string): Promise<Buffer> {
    return call((cb) => this.#sftp.opendir(path, cb));
  }

  /** One READDIR: the entries as the server sent them (`.` and `..` included); rejects with EOF at the end. */
  readdir(handle: Buffer): Promise<FileEntry[]> {
    // `full` (untyped in @types/ssh2) keeps `.` and `..`, as the operator's client expects them.
    const readdir = this.#sftp.readdir as unknown as (h: Buffer, o: { full: boolean }, cb: Done<FileEntry[]>) => void;
    return call((cb) => readdir.call(this.#sftp, handle, { full: true }, cb));
  }

  stat(path: string): Promise<Stats> {
    return call((cb) => this.#sftp.stat(path, cb));
  }

  lstat(path: string): Promise<Stats> {
    return call((cb) => this.#sftp.lstat(path, cb));
  }

  setstat(path: string, attrs: InputAttributes): Promise<void> {
    return call((cb) => this.#sftp.setstat(path, attrs, cb));
  }

  realpath(path: string): Promise<string> {
    return call((cb) => this.#sftp.realpath(path, cb));
  }

  readlink(path: string): Promise<string> {
    return call((cb) => this.#sftp.readlink(path, cb));
  }

  unlink(path: string): Promise<void> {
    return call((cb) => this.#sftp.unlink(path, cb));
  }

  rename(from: string, to: string): Promise<void> {
    return call((cb) => this.#sftp.rename(from, to, cb));
  }

  mkdir(path: string, attrs: InputAttributes): Promise<void> {
    return call((cb) => this.#sftp.mkdir(path, attrs, cb));
  }

  rmdir(path: string): Promise<void> {
    return call((cb) => this.#sftp.rmdir(path, cb));
  }

  /** Creates `linkPath` pointing at `targetPath` (ssh2 handles OpenSSH's swapped order). */
  symlink(targetPath: string, linkPath: string): Promise<void> {
    return call((cb) => this.#sftp.symlink(targetPath, linkPath, cb));
  }

  posixRename(from: string, to: string): Promise<void> {
    return call((cb) => this.#sftp.ext_openssh_rename(from, to, cb));
  }

  /** Creates `newPath` as a hard link to `oldPath`. */
  hardlink(oldPath: string, newPath: string): Promise<void> {
    return call((cb) => this.#sftp.ext_openssh_hardlink(oldPath, newPath, cb));
  }

  statvfs(path: string): Promise<StatVfs> {
    return call((cb) => this.#sftp.ext_openssh_statvfs(path, cb));
  }

  fstatvfs(handle: Buffer): Promise<StatVfs> {
    return call((cb) => this.#sftp.ext_openssh_fstatvfs(handle, cb));
  }

  fsync(handle: Buffer): Promise<void> {
    return call((cb) => this.#sftp.ext_openssh_fsync(handle, cb));
  }

  /**
   * expand-path@openssh.com. ssh2 1.17's ext_openssh_expandPath writes the path over the
   * last three bytes of the request's name (`p += 20` for a 23-byte name), so the request is
   * built here and its NAME answer taken through ssh2's own request table.
   */
  expandPath(path: string): Promise<string> {
    const c = this.#sftp as unknown as {
      _writeReqid?: number;
      _requests?: Record<number, { cb: (err: Error | undefined, names?: FileEntry[]) => void }>;
      _extensions?: Record<string, string>;
    };
    if (typeof c._writeReqid !== 'number' || typeof c._requests !== 'object' || c._extensions?.['expand-path@openssh.com'] !== '1') {
      return Promise.reject(Object.assign(new Error('expand-path is not supported'), { code: SFTP_STATUS.OP_UNSUPPORTED }));
    }
    const name = Buffer.from('expand-path@openssh.com');
    const arg = Buffer.from(path, 'utf8');
    const id = (c._writeReqid = (c._writeReqid + 1) >>> 0);
    const packet = Buffer.allocUnsafe(4 + 1 + 4 + 4 + name.length + 4 + arg.length);
    let p = packet.writeUInt32BE(packet.length - 4, 0);
    p = packet.writeUInt8(200, p); // SSH_FXP_EXTENDED
    p = packet.writeUInt32BE(id, p);
    p = packet.writeUInt32BE(name.length, p);
    p += name.copy(packet, p);
    p = packet.writeUInt32BE(arg.length, p);
    arg.copy(packet, p);
    const requests = c._requests;
    return new Promise((resolve, reject) => {
      requests[id] = {
        cb: (err, names) => {
          if (err) reject(err);
          else if (!names?.[0]) reject(new Error('the server sent no expanded path'));
          else resolve(names[0].filename);
        },
      };
      sendPacket(this.#sftp, packet);
    });
  }

  /** copy-data: `length` 0 copies to the end of the source file. */
  copyData(from: Buffer, fromOffset: number, length: number, to: Buffer, toOffset: number): Promise<void> {
    return call((cb) => this.#sftp.ext_copy_data(from, fromOffset, length, to, toOffset, cb));
  }

  homeDirectory(username: string): Promise<string> {
    // Untyped in @types/ssh2.
    const homeDir = (this.#sftp as unknown as { ext_home_dir: (u: string, cb: Done<string>) => void }).ext_home_dir;
    return call((cb) => homeDir.call(this.#sftp, username, cb));
  }
}

/** Attributes as received from the operator, passed on as the backend's input. */
export function inputAttributes(attrs: Attributes | undefined): InputAttributes {
  return (attrs ?? {}) as InputAttributes;
}
