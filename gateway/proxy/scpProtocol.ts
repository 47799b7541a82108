// Legacy scp (`scp -O`, and every scp before OpenSSH 9) runs `scp -t <target>` (upload) or
// `scp -f <paths>` (download) on the asset and speaks the old rcp protocol over the
// channel. The gateway passes it through unchanged and reads along, as a tap on both
// directions, to write one FileTransfer row per file (and per directory an upload creates).
//
// The protocol: the sending side (the operator's scp for an upload, the asset's for a
// download) sends header lines — `C<mode> <size> <name>`, `D<mode> 0 <name>`, `E`,
// `T<mtime> 0 <atime> 0` — each answered by the receiving side with one byte, 0 for "go on"
// or 1/2 followed by an error line. After an accepted C line come <size> bytes of the file
// and one more 0 (or an error line), answered once more. The receiver answers first, once,
// before anything is sent. The sender can also send an error line instead of a header (a
// file it cannot read). The file's bytes are counted, never copied or held.
import type { TransferEntry } from '../sftp/sftpProxy.ts';

export type ScpDirection = 'upload' | 'download';

/** What the command line of a legacy scp says. */
export interface LegacyScp {
  direction: ScpDirection;
  /** -r: whole directories. */
  recursive: boolean;
  /** -d: the target must be a directory (the client sends it for several sources). */
  targetIsDirectory: boolean;
  /** The target of an upload, the sources of a download, as the shell on the asset receives them. */
  paths: string[];
}

/**
 * Splits a command line into words the way a POSIX shell does — but only when the shell would
 * do nothing else with it: no operators (`; & | < > ( )`), no substitutions or expansions that
 * could run something (`$`, backquotes), no comments, no newlines or other control characters,
 * no unterminated quote. Anything of that kind gives null: the command is then not "just one
 * program with these arguments", and whoever asked must treat it as an arbitrary command.
 * Globs and `~` are left as written: they only name files, they never run anything.
 */
export function shellWords(command: string): string[] | null {
  const words: string[] = [];
  let word: string | null = null;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    const code = c.charCodeAt(0);
    // Newlines end a command even inside quotes for some readers; any control character is suspect.
    if ((code < 0x20 && c !== ' ' && c !== '\t') || code === 0x7f) return null;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '$' || c === '`') return null;
      else if (c === '\\' && i + 1 < command.length && '"\\'.includes(command[i + 1]!)) word += command[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= '';
    } else if (c === '\\') {
      if (i + 1 >= command.length) return null;
      word = (word ?? '') + command[++i];
    } else if (c === ' ' || c === '\t') {
      if (word !== null) words.push(word);
      word = null;
    } else if (';&|<>()$`#'.includes(c)) {
      return null;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote) return null;
  if (word !== null) words.push(word);
  return words;
}

/** The flags an OpenSSH client passes to the remote scp of a legacy transfer; any other makes it something else. */
const SCP_FLAGS = new Set(['t', 'f', 'r', 'd', 'p', 'v', 'q']);

/** `scp`, `/usr/bin/scp`, `./bin/scp`: a word naming the scp program (not `VAR=…`, not `scp2`). */
const isScpProgram = (word: string): boolean => (word === 'scp' || word.endsWith('/scp')) && !word.includes('=');

/**
 * `scp -t target` receives (upload), `scp -f file…` sends (download). Recognised only when the
 * WHOLE command is that one invocation — any path to scp, only the flags a client passes, then
 * paths — because a command recognised here is recorded as a file transfer, not as a terminal:
 * `scp -f x; bash -i` or `scp -f $(…)` must stay a recorded exec (security rule 12). Anything
 * ambiguous is not legacy scp.
 */
export function parseLegacyScp(command: string): LegacyScp | null {
  const words = shellWords(command);
  if (!words || words.length === 0 || !isScpProgram(words[0]!)) return null;
  let direction: ScpDirection | null = null;
  let recursive = false;
  let targetIsDirectory = false;
  let i = 1;
  let endOfFlags = false;
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') {
      i++;
      endOfFlags = true;
      break;
    }
    if (!w.startsWith('-')) break;
    if (w === '-') return null;
    for (const flag of w.slice(1)) {
      if (!SCP_FLAGS.has(flag)) return null;
      const d = flag === 't' ? 'upload' : flag === 'f' ? 'download' : null;
      if (d && direction && d !== direction) return null;
      if (d) direction = d;
      else if (flag === 'r') recursive = true;
      else if (flag === 'd') targetIsDirectory = true;
    }
  }
  if (!direction) return null;
  const paths = words.slice(i);
  // The remote scp takes exactly one target, and at least one source.
  if (direction === 'upload' ? paths.length !== 1 : paths.length === 0) return null;
  // A later word that looks like a flag: whether scp reads it as one depends on its getopt.
  if (paths.some((p) => p === '' || (!endOfFlags && p.startsWith('-')))) return null;
  return { direction, recursive, targetIsDirectory, paths };
}

const joinPath = (dir: string, name: string): string => (dir === '' ? name : `${dir.replace(/\/+$/, '')}/${name}`);
const baseName = (p: string): string => p.replace(/\/+$/, '').split('/').pop() ?? p;
const dirName = (p: string): string => {
  const trimmed = p.replace(/\/+$/, '');
  const at = trimmed.lastIndexOf('/');
  return at < 0 ? '' : at === 0 ? '/' : trimmed.slice(0, at);
};

/** Longest header line accepted; a longer one means this is not the scp protocol, and reading along stops. */
const MAX_LINE = 8192;

/** One line (up to a newline) gathered across chunks, never longer than MAX_LINE. */
class LineCollector {
  #parts: Buffer[] = [];
  #length = 0;
  /** A newline ended the line: take() it. */
  complete = false;

  /** Adds bytes from `at` up to and including a newline; returns where reading stopped. */
  add(chunk: Buffer, at: number): number {
    const nl = chunk.indexOf(0x0a, at);
    const piece = chunk.subarray(at, nl < 0 ? chunk.length : nl);
    this.#parts.push(piece);
    this.#length += piece.length;
    this.complete = nl >= 0;
    return nl < 0 ? chunk.length : nl + 1;
  }

  get overflow(): boolean {
    return this.#length > MAX_LINE;
  }

  take(): string {
    const text = Buffer.concat(this.#parts).toString('utf8');
    this.#parts = [];
    this.#length = 0;
    this.complete = false;
    return text;
  }
}

type Pending =
  | { kind: 'start' | 'times' | 'leave' }
  | { kind: 'enter'; path: string }
  | { kind: 'header' | 'data'; file: FileEntry };

interface FileEntry {
  path: string;
  size: number;
  moved: number;
  failure: string | null;
}

/**
 * Reads a legacy scp session along and reports its files. Feed it the sender's bytes with
 * `fromSender` and the receiver's with `fromReceiver`, each before they are passed on; call
 * `end` when the channel closes. `record` receives the finished entries.
 */
export class ScpTransferLog {
  readonly #scp: LegacyScp;
  readonly #record: (entry: TransferEntry) => void;
  /** Whether an upload's target is an existing directory (the asset's scp decides the same way, by stat, at its start). */
  readonly #targetIsDir: boolean;
  readonly #pending: Pending[] = [{ kind: 'start' }];
  /** Directories entered, as paths on the asset. */
  readonly #dirs: string[] = [];
  #sender: 'header' | 'waiting' | 'data' | 'dataEnd' | 'dataEndError' | 'off' = 'header';
  #receiver: 'ack' | 'errorLine' | 'off' = 'ack';
  readonly #senderLine = new LineCollector();
  readonly #receiverLine = new LineCollector();
  #file: FileEntry | null = null;
  #ended = false;

  constructor(scp: LegacyScp, targetIsDir: boolean, record: (entry: TransferEntry) => void) {
    this.#scp = scp;
    this.#targetIsDir = targetIsDir;
    this.#record = record;
  }

  /** Bytes from the side that sends files (the operator for an upload, the asset for a download). */
  fromSender(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.#sender !== 'off') {
      if (this.#sender === 'data') {
        const file = this.#file!;
        const take = Math.min(file.size - file.moved, chunk.length - at);
        file.moved += take;
        at += take;
        if (file.moved === file.size) this.#sender = 'dataEnd';
      } else if (this.#sender === 'dataEnd') {
        if (chunk[at++] === 0) {
          this.#pending.push({ kind: 'data', file: this.#file! });
          this.#sender = 'waiting';
        } else {
          this.#sender = 'dataEndError';
        }
      } else if (this.#sender === 'waiting') {
        // The sender waits for an answer before it says more; bytes now mean a desynchronised reading.
        this.#stop();
      } else {
        const line = this.#senderLine;
        at = line.add(chunk, at);
        if (line.overflow) this.#stop();
        else if (line.complete) this.#senderHeader(line.take());
      }
    }
  }

  /** Bytes from the side that receives files: its answers. */
  fromReceiver(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.#receiver !== 'off') {
      if (this.#receiver === 'ack') {
        const byte = chunk[at++]!;
        if (byte === 0) this.#answer(null);
        else if (byte === 1 || byte === 2) this.#receiver = 'errorLine';
        else this.#stop();
      } else {
        const line = this.#receiverLine;
        at = line.add(chunk, at);
        if (line.overflow) this.#stop();
        else if (line.complete) {
          this.#receiver = 'ack';
          this.#answer(line.take() || 'refused by the receiving side');
        }
      }
    }
  }

  /** The channel closed: a file still on its way is recorded as interrupted. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#sender === 'off') return;
    const open = new Set<FileEntry>();
    if (this.#file && (this.#sender === 'data' || this.#sender === 'dataEnd' || this.#sender === 'dataEndError')) open.add(this.#file);
    for (const p of this.#pending) if (p.kind === 'header' || p.kind === 'data') open.add(p.file);
    for (const file of open) this.#finish(file, file.failure ?? 'the transfer was interrupted');
    this.#pending.length = 0;
  }

  #senderHeader(line: string): void {
    if (this.#sender === 'dataEndError') {
      // The sender could not read all of the file (it sent its size in zeros): the receiver still answers once.
      const file = this.#file!;
      file.failure ??= line.trim() || 'the sending side failed';
      this.#sender = 'waiting';
      this.#pending.push({ kind: 'data', file });
      return;
    }
    const type = line[0];
    if (type === '\x01' || type === '\x02') {
      // A source the sender cannot send (no such file, permission denied); nobody answers it.
      if (this.#scp.direction === 'download') {
        const path = this.#scp.paths.length === 1 ? this.#scp.paths[0]! : this.#scp.paths.join(' ');
        this.#record({ operation: 'download', path, size: 0, ok: false, message: line.slice(1).trim() });
      }
      // A fatal one ends the sender's part: nothing more to read.
      if (type === '\x02') this.#sender = this.#receiver = 'off';
      return;
    }
    if (type === 'C' || type === 'D') {
      const m = /^[CD]([0-7]{3,4}) (\d+) (.+)$/s.exec(line);
      if (!m || m[3]!.includes('/')) {
        this.#stop();
        return;
      }
      const path = this.#pathOf(m[3]!);
      if (type === 'D') {
        this.#pending.push({ kind: 'enter', path });
      } else {
        const file: FileEntry = { path, size: Number(m[2]), moved: 0, failure: null };
        this.#file = file;
        this.#pending.push({ kind: 'header', file });
      }
      this.#sender = 'waiting';
    } else if (type === 'E' && line === 'E') {
      this.#pending.push({ kind: 'leave' });
      this.#sender = 'waiting';
    } else if (type === 'T') {
      this.#pending.push({ kind: 'times' });
      this.#sender = 'waiting';
    } else {
      this.#stop();
    }
  }

  /** The receiver answered the oldest message still waiting: null is "go on", a string is its error. */
  #answer(error: string | null): void {
    const p = this.#pending.shift();
    if (!p) {
      // An answer to nothing: a fatal error line after the end, or a reading gone wrong.
      return;
    }
    if (this.#sender === 'waiting') this.#sender = 'header';
    switch (p.kind) {
      case 'enter':
        if (error === null) this.#dirs.push(p.path);
        if (this.#scp.direction === 'upload') this.#record({ operation: 'mkdir', path: p.path, ok: error === null, ...(error ? { message: error } : {}) });
        break;
      case 'leave':
        this.#dirs.pop();
        break;
      case 'header':
        if (error !== null) this.#finish(p.file, error);
        else this.#sender = p.file.size === 0 ? 'dataEnd' : 'data';
        break;
      case 'data':
        this.#finish(p.file, p.file.failure ?? error);
        break;
      default:
        break;
    }
  }

  #finish(file: FileEntry, failure: string | null): void {
    if (this.#file === file) this.#file = null;
    this.#record({ operation: this.#scp.direction, path: file.path, size: file.moved, ok: failure === null, ...(failure ? { message: failure } : {}) });
  }

  /** Where a name from a C or D line is on the asset. */
  #pathOf(name: string): string {
    const parent = this.#dirs.at(-1);
    if (parent !== undefined) return joinPath(parent, name);
    const { paths, direction } = this.#scp;
    if (direction === 'upload') {
      const target = paths[0] ?? '.';
      return this.#targetIsDir ? joinPath(target, name) : target;
    }
    // A download names the files it sends by their base names: find the source it came from.
    const source = paths.find((p) => baseName(p) === name);
    if (source !== undefined) return source.replace(/\/+$/, '') || source;
    return joinPath(dirName(paths[0] ?? ''), name);
  }

  /**
   * Not the protocol after all (or out of step): stop reading along; the bytes still pass
   * (the asset's scp reads them too, and refuses what it cannot read). The audit says so.
   */
  #stop(): void {
    if (this.#sender === 'off') return;
    this.#sender = 'off';
    this.#receiver = 'off';
    const { direction, paths } = this.#scp;
    this.#record({ operation: direction, path: paths.join(' ') || '.', size: 0, ok: false, message: 'the scp stream could not be read along; its files are not listed one by one' });
  }
}

/** Whether an upload target must be a directory without asking the asset. */
export function targetNamesDirectory(scp: LegacyScp): boolean {
  const target = scp.paths[0] ?? '.';
  return scp.targetIsDirectory || target.endsWith('/') || target === '.' || target === '..' || target === '~' || target === '';
}
