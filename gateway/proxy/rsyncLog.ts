// Per-file FileTransfer rows for rsync (issue 13 item 3), without reading rsync's multiplexed,
// possibly compressed wire protocol: the gateway asks the asset's own `rsync --server` to log
// each file it moves to its stderr, in a format that starts and ends with a random per-session
// nonce,
//
//   rsync --server … --log-file=/dev/stderr '--log-file-format=<nonce> %% %o %l %n <nonce>' . <paths>
//
// and takes those records out of the backend's stderr before it reaches the operator. rsync
// writes each log-file record as `YYYY/MM/DD HH:MM:SS [pid] <format>`. How it writes names
// depends on its version, and both are read exactly:
//
// - rsync ≥ 3.5 escapes control bytes (C0 but tab, C1) and a literal `\#` as `\#ooo` (octal),
//   so a record is one line; its `%%` prints `%`.
// - rsync ≤ 3.4 (Debian bookworm's 3.2.7) writes names raw: a name with a newline goes on over
//   several lines, and `\#012` in a name is just those characters; its `%%` prints `%%`.
//
// So the `%%` in the format says which of the two wrote the record (escaped names are undone,
// raw ones kept), and the closing nonce says where the name ends: a name cannot end a record
// early (`innocent.txt\n<a date> [1] …` is one name) unless whoever picks it knows the nonce. A record that cannot be read whole (lines of two records interleaved, one
// too long) marks the log unreadable: then no per-file rows, the per-path rows stand.
// Every log-file line is taken (rsync's own "receiving file list", "sent … bytes" lines too):
// seeing any tells that the asset's rsync took the option; seeing none (an rsync that
// ignores it, an `rrsync` that drops it) leaves the per-path rows of rsyncProtocol.ts.
//
// What the rows say: `recv` (the asset received: an upload), `send` (it sent: a download) and
// `del.` (deleted on the receiving asset, --delete) with the file's length (%l). Names: the
// receiver logs them relative to the destination (%n), the sender in their long form (%f:
// the source path as named, without a leading `/`).
//
// The nonce is in the command the asset runs, so the asset knows it, and so does anyone who can
// read that command line there (`ps`, unless /proc is mounted hidepid=2): the same account can
// write records into the session through /proc/<pid>/fd/2; another account only through file
// names in a tree the transfer covers (a forged record with rsync ≤ 3.4, a fall back to per-path
// rows with ≥ 3.5); the operator into their own session. README ("How far those per-file rows
// can be trusted") says so; the per-path rows and byte counts are the gateway's own.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { TransferEntry } from '../sftp/sftpProxy.ts';
import { rsyncOptionsEnd, rsyncTransferRows, type RsyncOutcome, type RsyncTransfer } from './rsyncProtocol.ts';
import { shellWords } from './scpProtocol.ts';
import { shellQuote } from '../targetSyntax.ts';

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
 * The command with the log options (and `extra`, e.g. --whole-file) last before the `.` that
 * ends rsync's options (so that they win over any the operator gave: a format without the nonce
 * would hide every file), or null when they cannot be put there without changing any other word
 * (unusual quoting): then the transfer runs as the operator asked, logged per path.
 */
export function withRsyncLog(command: string, r: RsyncTransfer, nonce: string, extra: readonly string[] = []): string | null {
  const format = `--log-file-format=${nonce} %% %o %l ${r.direction === 'upload' ? '%n' : '%f'} ${nonce}`;
  return withServerOptions(command, ['--log-file=/dev/stderr', format, ...extra]);
}

/** The command with `options` last before the `.` that ends rsync's options, every other word unchanged; or null. */
export function withServerOptions(command: string, options: readonly string[]): string | null {
  const words = shellWords(command);
  // The `.` the asset's rsync ends its options at: a `.` that is an option's value (`-T .`) is not it.
  const dot = words ? rsyncOptionsEnd(words) : -1;
  if (!words || dot < 0) return null;
  const expected = [...words.slice(0, dot), ...options, ...words.slice(dot)];
  const text = `${options.map(shellQuote).join(' ')} `;
  for (const m of command.matchAll(/(?<=\s)\.(?=\s|$)/g)) {
    const candidate = command.slice(0, m.index) + text + command.slice(m.index);
    const got = shellWords(candidate);
    if (got && got.length === expected.length && got.every((w, i) => w === expected[i])) return candidate;
  }
  return null;
}

/** A name as rsync ≥ 3.5 logged it (bytes as latin1), its `\#ooo` escapes undone. */
function unescapeName(latin1: string): string {
  return latin1.replace(/\\#([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8) & 0xff));
}

/**
 * The backend's stderr in, the operator's stderr out: rsync's log-file lines are kept here
 * (files with this nonce), everything else passes unchanged.
 */
export class RsyncLogFilter extends Transform {
  readonly files: RsyncLoggedFile[] = [];
  /** Whether any log-file line came: the asset's rsync took the option. */
  sawLog = false;
  /** Whether a record of this nonce could not be read whole: the files cannot be named exactly. */
  unreadable = false;
  #held = '';
  /** A record whose name went on past a line's end (rsync ≤ 3.4 writes a newline raw): its text so far. */
  #open: string | null = null;
  readonly #prefix: string;
  readonly #suffix: string;
  readonly #nonce: string;

  constructor(nonce: string) {
    super();
    this.#nonce = nonce;
    this.#prefix = `${nonce} `;
    this.#suffix = ` ${nonce}`;
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
    // A partial line that could be a log line (or the rest of an open record) waits for its end; anything else goes on now.
    if (rest && (this.#open !== null || /^\d/.test(rest)) && rest.length < HOLD_MAX) this.#held = rest;
    else out += rest;
    if (out) this.push(Buffer.from(out, 'latin1'));
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.#held && !this.#take(this.#held)) this.push(Buffer.from(this.#held, 'latin1'));
    this.#held = '';
    if (this.#open !== null) this.unreadable = true;
    this.#open = null;
    done();
  }

  #take(latin1Line: string): boolean {
    if (this.#open !== null) {
      // Inside a record: this line is more of its name, whatever it looks like.
      this.#open += '\n' + latin1Line;
      if (this.#open.endsWith(this.#suffix)) this.#record(this.#open);
      else if (this.#open.length > HOLD_MAX) this.#fail();
      return true;
    }
    const m = LOG_LINE.exec(latin1Line);
    if (!m) return false;
    this.sawLog = true;
    const body = m[1]!;
    if (!body.startsWith(this.#prefix)) return true;
    if (body.endsWith(this.#suffix) && body.length >= this.#prefix.length + this.#suffix.length) this.#record(body);
    else this.#open = body;
    return true;
  }

  /** One whole record (latin1): `<nonce> %|%% op length name <nonce>`. */
  #record(latin1: string): void {
    this.#open = null;
    const inner = latin1.slice(this.#prefix.length, -this.#suffix.length);
    const f = /^(%%?) (send|recv|del\.) (\d+) ([\s\S]+)$/.exec(inner);
    // A nonce inside: two records' lines were interleaved.
    if (!f || inner.includes(this.#nonce)) return this.#fail();
    const raw = f[1] === '%%';
    const name = Buffer.from(raw ? f[4]! : unescapeName(f[4]!), 'latin1').toString('utf8');
    this.files.push({ op: f[2] as RsyncLoggedFile['op'], size: Number(f[3]), name });
  }

  #fail(): void {
    this.#open = null;
    this.unreadable = true;
  }
}

/**
 * The rows of the files rsync logged, or null when they cannot name the files exactly (then
 * the per-path rows stand): `destIsDirectory` says, for an upload of one file to a path
 * without a trailing `/`, whether that path was a directory (the file went inside) or the file.
 */
export function rsyncFileRows(r: RsyncTransfer, files: readonly RsyncLoggedFile[], destIsDirectory: boolean | null): TransferEntry[] | null {
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
export function uploadNeedsDestinationKind(r: RsyncTransfer, files: readonly RsyncLoggedFile[]): boolean {
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
export function rsyncRows(r: RsyncTransfer, log: RsyncLogFilter | null, outcome: RsyncOutcome, destIsDirectory: boolean | null): TransferEntry[] {
  const perPath = rsyncTransferRows(r, outcome);
  const files = log?.sawLog && !log.unreadable ? rsyncFileRows(r, log.files, destIsDirectory) : null;
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
