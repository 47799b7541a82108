// Per-file FileTransfer rows for rsync (issue 13 item 3), without reading rsync's multiplexed,
// possibly compressed wire protocol: the gateway asks the asset's own `rsync --server` to log
// each file it moves to its stderr, in a format that starts with a random per-session nonce,
//
//   rsync --server … --log-file=/dev/stderr '--log-file-format=<nonce> %o %l %n' . <paths>
//
// and takes those lines out of the backend's stderr before it reaches the operator. rsync
// writes each log-file line as `YYYY/MM/DD HH:MM:SS [pid] <format>` and escapes control
// characters in names (a newline is `\#012`), so a file name cannot start a line of its own.
// Every log-file line is taken (rsync's own "receiving file list", "sent … bytes" lines too):
// seeing any tells that the asset's rsync took the option; seeing none (an rsync that
// ignores it, an `rrsync` that drops it) leaves the per-path rows of rsyncProtocol.ts.
//
// What the rows say: `recv` (the asset received: an upload), `send` (it sent: a download) and
// `del.` (deleted on the receiving asset, --delete) with the file's length (%l). Names: the
// receiver logs them relative to the destination (%n), the sender in their long form (%f:
// the source path as named, without a leading `/`).
//
// The nonce is in the command the asset runs, so the asset knows it: a hostile asset can
// write rows into its own session only (as it can lie about its files in any case). The
// operator does not see it, and names it cannot forge a line with.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { TransferEntry } from '../sftp/sftpProxy.ts';
import { rsyncTransferRows, type RsyncOutcome, type RsyncServer } from './rsyncProtocol.ts';
import { shellWords } from './scpProtocol.ts';

/** A log-file line of rsync: its timestamp and pid, then the format. */
const LOG_LINE = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[\d+\] (.*)$/;
/** A line not ended yet is held while it may still become a log-file line (at most this long). */
const HOLD_MAX = 64 * 1024;

export interface RsyncLoggedFile {
  op: 'send' | 'recv' | 'del.';
  size: number;
  /** As rsync logged it, with its escapes undone. */
  name: string;
}

export const newRsyncNonce = (): string => `bastion-rsync-${randomBytes(16).toString('hex')}`;

/**
 * The command with the log options last before the `.` that ends rsync's options (so that they
 * win over any the operator gave: a format without the nonce would hide every file), or null
 * when they cannot be put there without changing any other word (unusual quoting): then the
 * transfer runs as the operator asked, logged per path.
 */
export function withRsyncLog(command: string, r: RsyncServer, nonce: string): string | null {
  const words = shellWords(command);
  const dot = words?.indexOf('.') ?? -1;
  if (!words || dot < 0) return null;
  const format = `--log-file-format=${nonce} %o %l ${r.direction === 'upload' ? '%n' : '%f'}`;
  const options = ['--log-file=/dev/stderr', format];
  const expected = [...words.slice(0, dot), ...options, ...words.slice(dot)];
  const text = `--log-file=/dev/stderr '${format}' `;
  for (const m of command.matchAll(/(?<=\s)\.(?=\s|$)/g)) {
    const candidate = command.slice(0, m.index) + text + command.slice(m.index);
    const got = shellWords(candidate);
    if (got && got.length === expected.length && got.every((w, i) => w === expected[i])) return candidate;
  }
  return null;
}

/** rsync's escapes in logged names: `\#ooo` (octal) for a byte it would not print. */
function unescapeName(s: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && raw[i + 1] === 0x23 && i + 4 < raw.length && /^[0-7]{3}$/.test(raw.subarray(i + 2, i + 5).toString('latin1'))) {
      bytes.push(parseInt(raw.subarray(i + 2, i + 5).toString('latin1'), 8));
      i += 4;
    } else {
      bytes.push(raw[i]!);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * The backend's stderr in, the operator's stderr out: rsync's log-file lines are kept here
 * (files with this nonce), everything else passes unchanged.
 */
export class RsyncLogFilter extends Transform {
  readonly files: RsyncLoggedFile[] = [];
  /** Whether any log-file line came: the asset's rsync took the option. */
  sawLog = false;
  #held = '';
  readonly #prefix: string;

  constructor(nonce: string) {
    super();
    this.#prefix = `${nonce} `;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const text = this.#held + chunk.toString('latin1');
    this.#held = '';
    let out = '';
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      const line = text.slice(start, nl);
      if (!this.#take(line)) out += line + '\n';
      start = nl + 1;
    }
    const rest = text.slice(start);
    // A partial line that could be a log line waits for its end; anything else goes on now.
    if (rest && /^\d/.test(rest) && rest.length < HOLD_MAX) this.#held = rest;
    else out += rest;
    if (out) this.push(Buffer.from(out, 'latin1'));
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.#held && !this.#take(this.#held)) this.push(Buffer.from(this.#held, 'latin1'));
    this.#held = '';
    done();
  }

  #take(latin1Line: string): boolean {
    const m = LOG_LINE.exec(latin1Line);
    if (!m) return false;
    this.sawLog = true;
    const body = Buffer.from(m[1]!, 'latin1').toString('utf8');
    if (!body.startsWith(this.#prefix)) return true;
    const f = /^(send|recv|del\.) (\d+) (.+)$/.exec(body.slice(this.#prefix.length));
    if (f) this.files.push({ op: f[1] as RsyncLoggedFile['op'], size: Number(f[2]), name: unescapeName(f[3]!) });
    return true;
  }
}

/**
 * The rows of the files rsync logged, or null when they cannot name the files exactly (then
 * the per-path rows stand): `destIsDirectory` says, for an upload of one file to a path
 * without a trailing `/`, whether that path was a directory (the file went inside) or the file.
 */
export function rsyncFileRows(r: RsyncServer, files: readonly RsyncLoggedFile[], destIsDirectory: boolean | null): TransferEntry[] | null {
  if (r.paths.length === 0) return null;
  const rows: TransferEntry[] = [];
  for (const f of files) {
    if (f.name.endsWith('/')) continue;
    const path = r.direction === 'upload' ? uploadPath(r.paths[0]!, f, files.length, destIsDirectory) : downloadPath(r.paths, f.name);
    if (path === null) return null;
    const operation = f.op === 'del.' ? 'delete' : f.op === 'recv' ? 'upload' : 'download';
    rows.push({ operation, path, size: f.op === 'del.' ? 0 : f.size, ok: true });
  }
  return rows;
}

/** Whether an upload's destination must be asked about (one plain file to a path that may or may not be a directory). */
export function uploadNeedsDestinationKind(r: RsyncServer, files: readonly RsyncLoggedFile[]): boolean {
  return r.direction === 'upload' && r.paths.length === 1 && !r.paths[0]!.endsWith('/') && files.length === 1 && !files[0]!.name.includes('/');
}

function uploadPath(dest: string, f: RsyncLoggedFile, count: number, destIsDirectory: boolean | null): string | null {
  // The receiver names files relative to the destination directory, except a single file
  // sent to a path that is not a directory: that path is the file.
  if (dest.endsWith('/') || f.name.includes('/') || count > 1) return posix.join(dest, f.name);
  if (destIsDirectory === null) return null;
  return destIsDirectory ? posix.join(dest, f.name) : dest;
}

function downloadPath(sources: readonly string[], longName: string): string | null {
  // %f drops the leading `/` of an absolute source: the sources say which it was.
  const absolute = sources.every((p) => p.startsWith('/'));
  if (!absolute && sources.some((p) => p.startsWith('/'))) return null;
  return absolute ? `/${longName}` : longName;
}

/**
 * The FileTransfer rows of one rsync: a row per file it logged, and when it did not end well
 * the per-path rows saying so (size 0: the files that made it are the rows above); the
 * per-path rows of rsyncProtocol.ts alone when the log did not come or cannot name files exactly.
 */
export function rsyncRows(r: RsyncServer, log: RsyncLogFilter | null, outcome: RsyncOutcome, destIsDirectory: boolean | null): TransferEntry[] {
  const perPath = rsyncTransferRows(r, outcome);
  const files = log?.sawLog ? rsyncFileRows(r, log.files, destIsDirectory) : null;
  if (!files) return perPath;
  const failed = perPath.filter((x) => !x.ok).map((x) => ({ ...x, size: 0 }));
  return [...files, ...failed];
}

/** What the operator may send before the asset's rsync answers is held up to this much (rsync's client sends a few bytes). */
const HELD_INPUT_MAX = 1024 * 1024;

export interface RsyncStart {
  /** The asset's rsync ended with no output: it (or an `rrsync` in front of it) did not take the log options. */
  refused: boolean;
  /** The operator's channel closed before the asset answered. */
  operatorGone: boolean;
  /** What the operator sent meanwhile: for the backend channel that goes on (the bridge's typeahead). */
  held: Buffer;
}

/**
 * Waits for the first output of the asset's rsync (it writes its protocol version at once),
 * holding the operator's input meanwhile, so that a refusal of the log options can be retried
 * without them and the operator's rsync never knows. The first output is put back on the stream.
 */
export function awaitRsyncStart(backend: Readable, operator: Readable & { once(ev: 'close', fn: () => void): unknown }): Promise<RsyncStart> {
  return new Promise((resolve) => {
    const held: Buffer[] = [];
    let heldBytes = 0;
    const onInput = (c: Buffer): void => {
      held.push(c);
      heldBytes += c.length;
      if (heldBytes >= HELD_INPUT_MAX) operator.pause();
    };
    const done = (r: Omit<RsyncStart, 'held'>): void => {
      operator.off('data', onInput);
      operator.off('close', onOperatorClose);
      operator.pause();
      backend.off('data', onOutput);
      backend.off('close', onBackendClose);
      resolve({ ...r, held: Buffer.concat(held) });
    };
    const onOutput = (c: Buffer): void => {
      backend.pause();
      backend.unshift(c);
      done({ refused: false, operatorGone: false });
    };
    // Closed before a byte of output: rsync never started its protocol, whatever the status
    // (the bridge could not follow a channel already closed): it is run again without the options.
    const onBackendClose = (): void => done({ refused: true, operatorGone: false });
    const onOperatorClose = (): void => done({ refused: false, operatorGone: true });
    backend.on('data', onOutput);
    backend.once('close', onBackendClose);
    operator.on('data', onInput);
    operator.once('close', onOperatorClose);
  });
}
