// The command log of a shell without a terminal (`ssh -T host`, `ssh host bash`, a script piped
// in): there is no screen to read a line from and no line editing, so each line the operator
// sends on stdin is what the shell runs. Each non-empty line becomes a command with the same
// fields as one read from a terminal (commandRecorder.ts): its text, the plain-text excerpt of
// the output that followed it, its time and offset. Lines that arrive together (a script) are
// all sent before their output can be told apart: the output goes to the last one, as
// commandRecorder.ts does for a paste, and each earlier line is logged as the next one comes. Lines the command filters refused never reach this
// tap (the guard records them as denied), so a line is logged once.
import type { CommandTap, RecordedCommand } from '../proxy/recorders.ts';
import { EXCERPT_CHARS, EXCERPT_QUIET_MS, EXCERPT_RAW_BYTES, MAX_COMMAND_CHARS } from './commandRecorder.ts';
import { excerpt, plainText } from './terminalText.ts';

interface Entered {
  input: string;
  at: Date;
  raw: Buffer[];
  rawBytes: number;
}

export class StdinLines implements CommandTap {
  readonly #onCommand: (c: RecordedCommand) => void;
  readonly #startedAt: number;
  /** The line being sent, up to MAX_COMMAND_CHARS bytes of it. */
  #partial: Buffer[] = [];
  #partialBytes = 0;
  /** The last line sent: the output that comes now is its. */
  #last: Entered | null = null;
  #quiet: NodeJS.Timeout | null = null;
  #disposed = false;

  constructor(startedAt: Date, onCommand: (c: RecordedCommand) => void) {
    this.#startedAt = startedAt.getTime();
    this.#onCommand = onCommand;
  }

  input(data: Buffer): void {
    if (this.#disposed) return;
    let at = 0;
    for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, at)) {
      this.#add(data.subarray(at, nl));
      this.#enter();
      at = nl + 1;
    }
    this.#add(data.subarray(at));
  }

  output(data: Buffer): void {
    const last = this.#last;
    if (this.#disposed || !last) return;
    const room = EXCERPT_RAW_BYTES - last.rawBytes;
    if (room > 0) {
      // A copy of the part kept: never pin the caller's (larger) buffer.
      last.raw.push(Buffer.from(data.subarray(0, room)));
      last.rawBytes += Math.min(room, data.length);
    }
    // The output of what was sent is complete once the session has been quiet a while.
    if (this.#quiet) this.#quiet.refresh();
    else this.#quiet = setTimeout(() => this.#report(), EXCERPT_QUIET_MS).unref();
  }

  resize(): void {}

  /** A last line without its newline runs too (a shell reads it at the end of its input). */
  dispose(): void {
    if (this.#disposed) return;
    this.#enter();
    this.#report();
    this.#disposed = true;
  }

  #add(bytes: Buffer): void {
    const room = MAX_COMMAND_CHARS - this.#partialBytes;
    if (room <= 0 || bytes.length === 0) return;
    const part = bytes.subarray(0, room);
    this.#partial.push(Buffer.from(part));
    this.#partialBytes += part.length;
  }

  /** The line sent so far is complete: the one before it has all its output (later output is this one's). */
  #enter(): void {
    // Exactly what the shell reads (a trailing CR is part of its last word); a blank line runs nothing.
    const input = Buffer.concat(this.#partial).toString('utf8');
    this.#partial = [];
    this.#partialBytes = 0;
    if (!input.trim()) return;
    this.#report();
    this.#last = { input, at: new Date(), raw: [], rawBytes: 0 };
  }

  #report(): void {
    if (this.#quiet) clearTimeout(this.#quiet);
    this.#quiet = null;
    const e = this.#last;
    if (!e) return;
    this.#last = null;
    const output = excerpt(plainText(Buffer.concat(e.raw).toString('utf8')), EXCERPT_CHARS);
    this.#onCommand({ input: e.input, output, offsetMs: Math.max(0, e.at.getTime() - this.#startedAt), at: e.at });
  }
}
