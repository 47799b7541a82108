// rsync over SSH runs `rsync --server …` on the asset: the asset receives (an upload) unless
// the client asked it to be the `--sender` (a download). The gateway recognises that command
// so that rsync needs the same `upload` / `download` action as scp and SFTP, and writes a
// FileTransfer row per file from the asset's own rsync log (proxy/rsyncLog.ts); without that
// log, a row per path named on the command line, sized by the bytes that crossed the channel
// (rsync's own protocol, compressed and delta-encoded: not the files' sizes) and ok when rsync
// exited 0. rsync multiplexes and may compress its stream, so files are not read from it here.
//
// Read only when the WHOLE command is one plain invocation — the rsync program, `--server`,
// options, the `.` rsync puts before the paths, then paths — split by the same shellWords as
// legacy scp: any shell operator, substitution or expansion makes it an ordinary exec. The
// options are read as the asset's rsync (popt) reads them, values in the next word included,
// so that `--sender` decides the direction only where rsync takes it as the option; an rsync
// server command that cannot be read exactly needs both actions.
import type { TransferAction, TransferEntry } from '../sftp/sftpProxy.ts';
import { shellWords } from './scpProtocol.ts';

export interface RsyncServer {
  /** upload: the asset receives; download: the asset is the sender. */
  direction: 'upload' | 'download';
  /** The destination (upload) or sources (download) as given; empty with --protect-args (-s), which sends them inside the protocol. */
  paths: string[];
  /**
   * The actions it needs: its direction's; `upload` too for a sender told to delete what it
   * sent (--remove-source-files changes the asset's files); `download` too for a receiver that
   * compares the asset's files by content (-c, --append-verify: see Readable); both when the
   * command cannot be read exactly, since the asset's rsync may read it either way.
   */
  needs: readonly TransferAction[];
}

/** What the rows and the log of a transfer read: its direction and paths. */
export type RsyncTransfer = Pick<RsyncServer, 'direction' | 'paths'>;

/** `rsync`, `/usr/bin/rsync`: a word naming the rsync program. */
const isRsyncProgram = (word: string): boolean => (word === 'rsync' || word.endsWith('/rsync')) && !word.includes('=');

/** Server modes that are not a file transfer of the command line's paths (a daemon reads its own config): they move files either way. */
const DAEMON_MODE = new Set(['--daemon', '--config', '--dparam']);

/**
 * rsync's options that take a value (rsync 3.2–3.5 and older aliases). popt gives such an option
 * the rest of its word (`-T/tmp`, `--temp-dir=/tmp`) or else THE NEXT WORD, whatever it is:
 * `--suffix --sender` is a suffix named `--sender`, and the asset's rsync then receives. So a
 * value is skipped here exactly as popt takes it, and `--sender` counts only where popt reads it
 * as the option.
 */
const VALUE_SHORT = new Set(['B', 'e', 'T', 'f', 'M', '@']);
const VALUE_LONG = new Set([
  'address', 'backup-dir', 'block-size', 'bwlimit', 'cc', 'checksum-choice', 'checksum-seed', 'chmod', 'chown', 'compare-dest',
  'compress-choice', 'compress-level', 'compress-threads', 'config', 'confine-root', 'contimeout', 'copy-as', 'copy-dest', 'debug',
  'dparam', 'early-input', 'exclude', 'exclude-from', 'files-from', 'filter', 'groupmap', 'iconv', 'include', 'include-from', 'info',
  'link-dest', 'log-file', 'log-file-format', 'log-format', 'max-alloc', 'max-delete', 'max-size', 'min-size', 'modify-window',
  'only-write-batch', 'out-format', 'outbuf', 'partial-dir', 'password-file', 'port', 'protocol', 'read-batch', 'remote-option', 'rsh',
  'rsync-path', 'skip-compress', 'sockopts', 'stderr', 'stop-after', 'stop-at', 'suffix', 'temp-dir', 'time-limit', 'timeout',
  'usermap', 'write-batch', 'zc', 'zl', 'zt',
]);
/** rsync's short options without a value; a letter outside both sets makes the command unreadable. */
const FLAG_SHORT = new Set([...'0468aAbcCdDEFgHhiIJkKlLmnNoOpPqrRsStuUvVWxXyz']);
/**
 * rsync's long options without a value (and every `--no-…`). An unknown one may take the next
 * word in some rsync: the command is then unreadable, not guessed.
 */
const FLAG_LONG = new Set([
  '8-bit-output', 'acls', 'append', 'append-verify', 'archive', 'atimes', 'backup', 'blocking-io', 'checksum', 'compress', 'copy-devices',
  'copy-dirlinks', 'copy-links', 'copy-unsafe-links', 'crtimes', 'cvs-exclude', 'del', 'delay-updates', 'delete', 'delete-after',
  'delete-before', 'delete-delay', 'delete-during', 'delete-excluded', 'delete-missing-args', 'devices', 'dirs', 'dry-run', 'executability',
  'existing', 'fake-super', 'force', 'force-change', 'force-delete', 'from0', 'fsync', 'fuzzy', 'group', 'hard-links', 'human-readable', 'i-r',
  'ignore-errors', 'ignore-existing', 'ignore-missing-args', 'ignore-non-existing', 'ignore-times', 'inc-recursive', 'inplace',
  'insecure-links', 'ipv4', 'ipv6', 'itemize-changes', 'keep-dirlinks', 'links', 'list-only', 'mkpath', 'msgs2stderr', 'munge-links',
  'new-compress', 'numeric-ids', 'old-args', 'old-compress', 'old-d', 'old-dirs', 'omit-dir-times', 'omit-link-times', 'one-file-system',
  'open-noatime', 'owner', 'partial', 'perms', 'preallocate', 'progress', 'protect-args', 'prune-empty-dirs', 'qsort', 'quiet', 'recursive',
  'relative', 'remove-sent-files', 'remove-source-files', 'safe-links', 'secluded-args', 'sender', 'server', 'size-only', 'sparse',
  'specials', 'stats', 'super', 'times', 'trust-sender', 'update', 'use-qsort', 'verbose', 'whole-file', 'write-devices', 'xattrs',
]);
/** A sender with one of these deletes the files it sent: a change to the asset's files. */
const REMOVES_SOURCES = new Set(['remove-source-files', 'remove-sent-files']);

/**
 * Whether a receiver compares the asset's existing files with the sender's by content: -c
 * (--checksum, whole-file checksums instead of size and time) or --append-verify (the client
 * sends it as `--append --append`), which checksums the asset's bytes it kept. Either way the
 * client learns whether a guessed file equals the asset's (`-n -c -i` itemizes a wrong guess
 * and writes nothing): a read of the asset's file, which needs download.
 */
interface Readable {
  readable: true;
  sender: boolean;
  removesSources: boolean;
  comparesContents: boolean;
  dot: number;
}
type Reading = Readable | { readable: false };

/** Reads rsync's options the way its popt does, from `from` up to the `.` that ends them. */
function readOptions(words: readonly string[], from: number): Reading {
  let sender = false;
  let removesSources = false;
  let checksum = false;
  let appends = 0;
  for (let i = from; i < words.length; i++) {
    const w = words[i]!;
    if (w === '.') return { readable: true, sender, removesSources, comparesContents: checksum || appends > 1, dot: i };
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      const name = w.slice(2, eq < 0 ? undefined : eq);
      if (VALUE_LONG.has(name)) {
        // `--opt value`: the next word is the value, whatever it looks like.
        if (eq < 0) i++;
        continue;
      }
      if (eq >= 0 || !(FLAG_LONG.has(name) || (name.startsWith('no-') && name.length > 3))) return { readable: false };
      if (name === 'sender') sender = true;
      if (REMOVES_SOURCES.has(name)) removesSources = true;
      if (name === 'checksum') checksum = true;
      if (name === 'append') appends++;
      if (name === 'append-verify') appends += 2;
      continue;
    }
    if (!w.startsWith('-') || w === '-') return { readable: false };
    for (let j = 1; j < w.length; j++) {
      const letter = w[j]!;
      if (VALUE_SHORT.has(letter)) {
        // The rest of the word is the value; none left: the next word is.
        if (j === w.length - 1) i++;
        break;
      }
      if (!FLAG_SHORT.has(letter)) return { readable: false };
      if (letter === 'c') checksum = true;
    }
  }
  return { readable: false };
}

/** The word index of the `.` that ends a readable rsync server command's options (a value `.` is not it), or -1. */
export function rsyncOptionsEnd(words: readonly string[]): number {
  const r = readOptions(words, 2);
  return r.readable ? r.dot : -1;
}

/**
 * `rsync --server …` as the asset's rsync will read it, or null when the command is not one
 * plain rsync server invocation (then it is an ordinary exec). A server invocation whose options
 * cannot be read exactly — an unknown option, a word where popt would see an option after the
 * paths, a daemon — still is rsync: it needs both upload and download, never nothing more than
 * `connect` as an exec would.
 */
export function parseRsyncServer(command: string): RsyncServer | null {
  const words = shellWords(command);
  // popt finds options anywhere on the line (it permutes), so `--server` may come anywhere.
  if (!words || words.length < 2 || !isRsyncProgram(words[0]!) || !words.includes('--server')) return null;
  const unreadable: RsyncServer = { direction: 'upload', paths: [], needs: ['upload', 'download'] };
  if (words[1] !== '--server' || words.some((w) => DAEMON_MODE.has(w.split('=', 1)[0]!))) return unreadable;
  const r = readOptions(words, 2);
  if (!r.readable) return unreadable;
  const paths = words.slice(r.dot + 1);
  // popt would read a later word starting with `-` as an option too.
  if (paths.some((p) => p === '' || p.startsWith('-'))) return unreadable;
  const direction = r.sender ? 'download' : 'upload';
  if (direction === 'upload' && paths.length > 1) return unreadable;
  const needs: readonly TransferAction[] = direction === 'upload'
    ? r.comparesContents ? ['upload', 'download'] : ['upload']
    : r.removesSources ? ['download', 'upload'] : ['download'];
  return { direction, paths, needs };
}

export interface RsyncOutcome {
  exitStatus: number | null | undefined;
  exitSignal?: string | null | undefined;
  /** Why the session was ended from outside, if it was. */
  terminated?: string | null | undefined;
  /** Bytes operator → asset and asset → operator. */
  bytesIn: number;
  bytesOut: number;
}

/** One row per path (or one for `.` when the paths travelled inside the protocol); the first carries the bytes. */
export function rsyncTransferRows(r: RsyncTransfer, outcome: RsyncOutcome): TransferEntry[] {
  const message = outcome.terminated
    ? `the session was ended: ${outcome.terminated}`
    : outcome.exitSignal
      ? `rsync was killed by SIG${outcome.exitSignal}`
      : outcome.exitStatus === 0
        ? undefined
        : `rsync exited with status ${outcome.exitStatus ?? 'unknown'}`;
  const size = r.direction === 'upload' ? outcome.bytesIn : outcome.bytesOut;
  const paths = r.paths.length ? r.paths : ['.'];
  return paths.map((path, i) => ({ operation: r.direction, path, size: i === 0 ? size : 0, ok: message === undefined, ...(message ? { message } : {}) }));
}
