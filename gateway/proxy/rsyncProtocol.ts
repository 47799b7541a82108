// rsync over SSH runs `rsync --server …` on the asset: the asset receives (an upload) unless
// the client asked it to be the `--sender` (a download). The gateway recognises that command
// so that rsync needs the same `upload` / `download` action as scp and SFTP, and writes a
// FileTransfer row per file from the asset's own rsync log (proxy/rsyncLog.ts); without that
// log, a row per path named on the command line, sized by the bytes that crossed the channel
// (rsync's own protocol, compressed and delta-encoded: not the files' sizes) and ok when rsync
// exited 0. rsync multiplexes and may compress its stream, so files are not read from it here.
//
// Recognised only when the WHOLE command is one plain invocation — the rsync program,
// `--server`, options, the `.` rsync puts before the paths, then paths — split by the same
// shellWords as legacy scp: any shell operator, substitution or expansion makes it an
// ordinary exec, never a transfer.
import type { TransferEntry } from '../sftp/sftpProxy.ts';
import { shellWords } from './scpProtocol.ts';

export interface RsyncServer {
  /** upload: the asset receives; download: the asset is the sender. */
  direction: 'upload' | 'download';
  /** The destination (upload) or sources (download) as given; empty with --protect-args (-s), which sends them inside the protocol. */
  paths: string[];
}

/** `rsync`, `/usr/bin/rsync`: a word naming the rsync program. */
const isRsyncProgram = (word: string): boolean => (word === 'rsync' || word.endsWith('/rsync')) && !word.includes('=');

/** Server modes that are not a file transfer of the command line's paths (a daemon reads its own config). */
const NOT_A_TRANSFER = new Set(['--daemon', '--config', '--dparam']);

export function parseRsyncServer(command: string): RsyncServer | null {
  const words = shellWords(command);
  if (!words || words.length < 3 || !isRsyncProgram(words[0]!) || words[1] !== '--server') return null;
  let direction: RsyncServer['direction'] = 'upload';
  let i = 2;
  for (; i < words.length && words[i] !== '.'; i++) {
    const w = words[i]!;
    if (!w.startsWith('-') || w === '-' || w === '--') return null;
    const name = w.split('=', 1)[0]!;
    if (NOT_A_TRANSFER.has(name)) return null;
    if (w === '--sender') direction = 'download';
  }
  // rsync's client always puts `.` between the options and the paths.
  if (words[i] !== '.') return null;
  const paths = words.slice(i + 1);
  if (paths.some((p) => p === '' || p.startsWith('-'))) return null;
  if (direction === 'upload' && paths.length > 1) return null;
  return { direction, paths };
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
export function rsyncTransferRows(r: RsyncServer, outcome: RsyncOutcome): TransferEntry[] {
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
