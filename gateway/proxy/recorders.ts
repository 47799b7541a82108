// The taps on a session's streams: the asciicast recording and the command recovery.
// Both live in gateway/recording/ (the recorder engineer's modules); this file is the
// only place the proxy meets them, so a recorder failure can be contained here.
import type { Logger } from '../../core/logger.ts';
import { CastWriter } from '../recording/castWriter.ts';
import { CommandRecorder } from '../recording/commandRecorder.ts';

export interface CastSink {
  readonly relativePath: string;
  output(data: Buffer): void;
  input(data: Buffer): void;
  resize(cols: number, rows: number): void;
  close(): Promise<void>;
}

export interface CommandTap {
  input(data: Buffer): void;
  output(data: Buffer): void;
  resize(cols: number, rows: number): void;
  /** The line being typed now as the emulator shows it (null when none); read by the command filters at Enter. */
  currentLine?(): Promise<string | null>;
  /** Flushes the last command (its output excerpt) and frees the emulator. */
  dispose(): void | Promise<void>;
}

export interface RecordedCommand {
  input: string;
  output: string;
  offsetMs: number;
  at: Date;
}

export interface RecorderInit {
  dir: string;
  sessionId: string;
  startedAt: Date;
  size: { cols: number; rows: number };
  title: string;
  env: Record<string, string>;
  log: Logger;
}

/**
 * Opens the asciicast writer for a session, or null when recording cannot start
 * (the session then goes on unrecorded, with an error in the log).
 */
export async function openCast(init: RecorderInit): Promise<CastSink | null> {
  try {
    return CastWriter.open(init.dir, init.sessionId, init.startedAt, init.size, { title: init.title, env: init.env, log: init.log });
  } catch (err) {
    init.log.error({ err }, 'recording could not be opened; the session goes on unrecorded');
    return null;
  }
}

/** The command-recovery tap for an interactive shell, or null when unavailable. */
export async function openCommandTap(size: { cols: number; rows: number }, startedAt: Date, onCommand: (c: RecordedCommand) => void, log: Logger): Promise<CommandTap | null> {
  try {
    return new CommandRecorder({ cols: size.cols, rows: size.rows, startedAt, onCommand, log });
  } catch (err) {
    log.error({ err }, 'command recovery could not start; commands of this session are not recorded');
    return null;
  }
}
