// The taps on a session's streams: the asciicast recording and the command recovery.
// Both live in gateway/recording/ (the recorder engineer's modules); this file is the
// only place the proxy meets them, so a recorder failure can be contained here.
import type { Logger } from '../../core/logger.ts';

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
  dispose(): void;
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
  // TODO(recorder engineer's gateway/recording/castWriter.ts): wire CastWriter.open here.
  void init;
  return null;
}

/** The command-recovery tap for an interactive shell, or null when unavailable. */
export async function openCommandTap(size: { cols: number; rows: number }, onCommand: (c: RecordedCommand) => void, log: Logger): Promise<CommandTap | null> {
  // TODO(recorder engineer's gateway/recording/commandRecorder.ts): wire CommandRecorder here.
  void size;
  void onCommand;
  void log;
  return null;
}
