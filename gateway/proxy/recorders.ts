// The taps on a session's streams: the recording (a terminal's asciicast, or an exec
// stream's transfer record) and the command recovery. Both live in gateway/recording/; this
// file is the only place the proxy meets them, so a recorder failure is contained here.
import type { Logger } from '../../core/logger.ts';
import type { RecordingStore } from '../../core/recordings/recordingStore.ts';
import type { Screen } from '../../core/audit/castScreen.ts';
import { CastWriter } from '../recording/castWriter.ts';
import { TransferRecord } from '../recording/transferRecord.ts';
import type { HashThread } from '../recording/hashThread.ts';
import { CommandRecorder, type ScreenLine } from '../recording/commandRecorder.ts';
import { StdinLines } from '../recording/stdinLines.ts';

export interface RecordingSink {
  readonly relativePath: string;
  /** Whether the recording stopped holding the whole session (failure, truncation). */
  readonly incomplete: boolean;
  /** Output (stdout); false: the disk is behind, stop reading until whenDrained(). */
  output(data: Buffer): boolean;
  /** Stderr output; same contract as output(). */
  errorOutput(data: Buffer): boolean;
  /** Input (stdin); same contract as output(): an upload's bytes are hashed and kept like a download's. */
  input(data: Buffer): boolean;
  resize(cols: number, rows: number): void;
  whenDrained(fn: () => void): void;
  /** The screen as recorded so far, for a watcher who joins (terminal recordings only). */
  screen?(): Promise<Screen>;
  close(): Promise<void>;
}

export interface CommandTap {
  input(data: Buffer): void;
  output(data: Buffer): void;
  resize(cols: number, rows: number): void;
  /** The line being typed now as the emulator shows it (null when none); read by the command filters at Enter. */
  currentLine?(): Promise<ScreenLine | null>;
  /** Flushes the last command (its output excerpt) and frees the emulator. */
  dispose(): void | Promise<void>;
}

export interface RecordedCommand {
  input: string;
  output: string;
  offsetMs: number;
  at: Date;
  /** Ran with the echo off: `input` says so and gives the length only. */
  notEchoed?: true;
}

export interface RecorderInit {
  store: RecordingStore;
  sessionId: string;
  startedAt: Date;
  size: { cols: number; rows: number };
  title: string;
  env: Record<string, string>;
  log: Logger;
  /** 'terminal': the whole asciicast; 'transfer': head, tail, counts and hashes (non-PTY exec). */
  mode: 'terminal' | 'transfer';
  /** Bytes kept from each end of each stream in 'transfer' mode. */
  keepBytes: number;
  /** Where 'transfer' mode hashes its streams (off the event loop). */
  hashing: HashThread;
  maxBytes: number;
  limitAction: 'end' | 'truncate';
  onIncomplete(reason: string): void;
  onLimit(reason: string): void;
}

/** A recording that could not be started (no directory, no space, no permission, a bucket that refuses). */
export class RecordingUnavailableError extends Error {}

/** Opens the recording of a session, its header on disk; rejects with RecordingUnavailableError when the disk refuses. */
export async function openRecording(init: RecorderInit): Promise<RecordingSink> {
  const cast = CastWriter.open(init.store, init.sessionId, init.startedAt, init.size, {
    title: init.title, env: init.env, log: init.log,
    maxBytes: init.maxBytes, limitAction: init.limitAction, onIncomplete: init.onIncomplete, onLimit: init.onLimit,
    ...(init.mode === 'transfer' ? { header: { bastion: { record: 'transfer', keepBytes: init.keepBytes } } } : {}),
  });
  try {
    await cast.opened();
  } catch (err) {
    await cast.close();
    const code = (err as NodeJS.ErrnoException).code ?? (err as { name?: string }).name;
    throw new RecordingUnavailableError(code && code !== 'Error' ? `${code}` : 'the file could not be written', { cause: err });
  }
  if (init.mode === 'transfer') return new TransferRecord(cast, init.keepBytes, init.hashing, init.onIncomplete);
  return {
    relativePath: cast.relativePath,
    get incomplete() { return cast.incomplete; },
    output: (d) => cast.output(d),
    errorOutput: (d) => cast.output(d),
    input: (d) => cast.input(d),
    resize: (c, r) => cast.resize(c, r),
    whenDrained: (fn) => cast.whenDrained(fn),
    screen: () => cast.screen(),
    close: () => cast.close(),
  };
}

/**
 * The command-recovery tap of an interactive shell, or null when unavailable: lines read from the
 * screen ('screen', with a PTY), or the lines sent on stdin ('stdin', a shell without one).
 */
export async function openCommandTap(kind: 'screen' | 'stdin', size: { cols: number; rows: number }, startedAt: Date, onCommand: (c: RecordedCommand) => void, log: Logger): Promise<CommandTap | null> {
  try {
    if (kind === 'stdin') return new StdinLines(startedAt, onCommand);
    return new CommandRecorder({ cols: size.cols, rows: size.rows, startedAt, onCommand, log });
  } catch (err) {
    log.error({ err }, 'command recovery could not start; commands of this session are not recorded');
    return null;
  }
}
