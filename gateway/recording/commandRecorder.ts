// Recovers the command lines an operator really ran in an interactive shell. Two readers:
//
// - In a readline shell (bash ≥ 5.1, zsh: the shells that turn bracketed paste on with each
//   prompt) the command log comes from readlineLines.ts alone: the line the shell showed when
//   it accepted it, read from the output, whatever keys made it. That is exact for pastes,
//   typeahead, Ctrl-O/Ctrl-J, scripts piped into `ssh -tt` and `stty -echo` (measured against
//   bash's own history: `npm run bench -- commandlog`).
// - The key-based reader below (Enter → the line on screen) serves the command filters
//   (`currentLine()`, read at Enter before the Enter is passed on) in every shell, and the
//   command log only in a shell that never showed a readline prompt (dash, busybox sh): its
//   lines wait READLINE_GRACE_MS from the session start, until the shell has shown what it is.
//
// The key-based reader, as koko does it: the backend's output is fed through a headless
// terminal emulator (@xterm/headless), and when the operator presses Enter the line on screen
// is read, just before the backend's newline is. Whatever happened to the line before (tab
// completion, history recall, backspace, Ctrl-U, cursor moves) is then already applied by the
// shell itself.
//
// How the line is split from the prompt: when the first key of a line is typed, the text
// left of the cursor is the prompt. At Enter the logical line (wrapped rows joined) minus
// that prompt is the command; if the line no longer starts with it, a `$ `/`# `/`% `/`> `
// prompt end is looked for instead. An empty remainder is not a command: that is how a
// password typed at an echo-off prompt (sudo, su, ssh, `read -s`) stays unrecorded, and an
// empty Enter too. Lines typed on the alternate screen (vim, less, top) are not commands.
//
// Memory and CPU, for hundreds of mostly idle sessions and for bulk output:
// - The emulator (≈ 165 KiB for 80×24) exists only while a line is being typed, and for
//   TERMINAL_LINGER_MS after, for the next line; then it is disposed.
// - Between lines (while commands run and print) output is NOT parsed: only its last
//   TAIL_BYTES are kept in a small ring, and the alternate-screen switches are spotted
//   with a native byte search. Keys typed on the alternate screen start no emulator. When
//   the next line starts the emulator is reset and primed with that tail (from its first
//   line start), which rebuilds the prompt line.
// - The output excerpt of a command is its first EXCERPT_RAW_BYTES of raw output,
//   cleaned up as plain text (terminalText.ts) and cut to EXCERPT_CHARS.
//
// Typeahead (several lines in one input chunk, a paste): the lines after the first are known
// from the keys only, and one of them may be a password typed ahead of its prompt (`su -` and
// the password on the next line). Each is recorded only when its echo shows as a line of the
// output that follows (after the prompt, if the line has one); when that output overflowed the
// excerpt window before the echo could be seen, it is recorded from the keys. Keys typed
// ahead in later input chunks are not recorded at all.
//
// A newline can also arrive for an earlier Enter, or for a redraw, after the operator has
// already typed the next line (a Ctrl-C redraw that comes late, a script typing fast): the
// line then reads empty although keys were typed, and its echo is still on the way. Such a
// line is held: if the next line of output is the prompt followed by exactly what was typed,
// that echo makes it a command; anything else (the output after a password typed at an
// echo-off prompt) makes it what it looked like, not a command. Only text the screen showed
// can be recorded this way.
import type { Terminal as XTerminal } from '@xterm/headless';
import type { Logger } from '../../core/logger.ts';
import { headlessTerminal } from '../../core/xtermHeadless.ts';
import { ReadlineLines, type AcceptedLine } from './readlineLines.ts';
import { excerpt, plainText } from './terminalText.ts';
import { acceptLength, indexOfAccept } from './acceptKeys.ts';

export const TAIL_BYTES = 4096;
export const EXCERPT_CHARS = 2048;
export const EXCERPT_RAW_BYTES = 8192;
/** Output longer than this while a line is typed means it is not a shell line: give up on it. */
const MAX_LINE_OUTPUT = 64 * 1024;
const TERMINAL_LINGER_MS = 15_000;
/** A command's output excerpt is complete once the session has been quiet this long. */
export const EXCERPT_QUIET_MS = 2_000;
/** How long a command filter's look at the screen waits for the echo of keys sent with their Enter. */
const ECHO_WAIT_MS = 300;
/** The echo is complete once output has been quiet this long after it. */
const ECHO_QUIET_MS = 20;
const ECHO_POLL_MS = 5;
/** The longest command line kept. */
export const MAX_COMMAND_CHARS = 8192;
/** A readline shell turns bracketed paste on with its first prompt, well within this. */
const READLINE_GRACE_MS = 5_000;

export interface RecoveredCommand {
  input: string;
  output: string;
  offsetMs: number;
  at: Date;
  /** A line ran with the terminal's echo off: `input` only says so and how long it was. */
  notEchoed?: true;
}

/** What the command log shows for a line that ran unseen: its length, never its text. */
export function notEchoedInput(length: number): string {
  return `[input not echoed: ${length} character${length === 1 ? '' : 's'}]`;
}

export interface CommandRecorderOptions {
  cols: number;
  rows: number;
  onCommand: (c: RecoveredCommand) => void;
  /** Offsets are measured from here (the session start); default: construction time. */
  startedAt?: Date;
  log?: Logger;
}

/** The line being typed: its prompt, known once the emulator has parsed what came before. */
interface Line {
  prompt: string | null;
  /** The keys typed for it (bounded), to recognise a late echo. */
  keys: Buffer[];
  keyBytes: number;
}

/** A line as the terminal emulator shows it. */
export interface ScreenLine {
  /** The line, prompt stripped, all of it. */
  text: string;
  /** False when its start has scrolled off the top of the screen: only its end is known. */
  whole: boolean;
}

type Phase =
  | { kind: 'idle' } // between lines: output goes to the tail and the excerpt
  | { kind: 'typing'; line: Line; fed: number } // a line is being typed: output goes to the emulator
  | { kind: 'entered'; line: Line; at: Date; fed: number }; // Enter pressed, waiting for the newline echo

/**
 * An entered line and the output after it. Slots are created in order when the newline
 * echo arrives and resolved in the same order when the emulator has read the line.
 */
interface Slot {
  at: Date;
  /** undefined until resolved; '' when the line was not a command. */
  input: string | undefined;
  prompt: string;
  raw: Buffer[];
  rawBytes: number;
  /** Read empty though keys were typed: a command only if the next output line echoes this. */
  echo?: string;
  /** The first line of `raw` is the command's own echo, not its output. */
  echoed?: boolean;
  /** Lines typed ahead after this one (from the keys), to be confirmed by their echo in `raw`. */
  ahead?: string[];
}

/** A line the readline reader saw accepted, and the output after it. */
interface ReadlineRecord {
  at: Date;
  /** undefined until read; then null when nothing ran. */
  line: AcceptedLine | null | undefined;
  /** The read in progress (its continuation lines, PS2, joined in). */
  reading: Promise<AcceptedLine | null>;
  raw: Buffer[];
  rawBytes: number;
  /** No more output comes to it. */
  complete: boolean;
  /** Keys sent while it ran (not to readline): the terminal may have echoed them into its output. */
  typed: Buffer[];
  typedBytes: number;
}

/** Keys typed while a command runs that are kept to take their echo out of its excerpt. */
const MAX_TYPED_BYTES = 4096;
/** Shorter typed lines are not taken out of an excerpt: they would cut words out of real output. */
const MIN_REDACTED_CHARS = 4;

const ALT_SCREEN = Buffer.from('\x1b[?');
const ALT_MODES = new Set(['1049', '1047', '47']);
/** `ESC [ ? 1049 ; 1047 h` and the like fit in this many bytes. */
const ALT_SEQUENCE_MAX = 16;
const PROMPT_END = /^.*?[$#%>] /;

export class CommandRecorder {
  #cols: number;
  #rows: number;
  readonly #onCommand: (c: RecoveredCommand) => void;
  readonly #startedAt: number;
  readonly #log: Logger | undefined;
  #term: XTerminal | null = null;
  #lingerTimer: NodeJS.Timeout | null = null;
  #phase: Phase = { kind: 'idle' };
  #altScreen = false;
  /** The start of an escape sequence cut off at the end of the last output chunk. */
  #altCarry: Buffer | null = null;
  // The last TAIL_BYTES of output, as a ring.
  #tail: Buffer | null = null;
  #tailEnd = 0;
  #tailFull = false;
  /** Entered lines not yet passed to onCommand; output between lines goes to the last one. */
  #slots: Slot[] = [];
  #quietTimer: NodeJS.Timeout | null = null;
  /** Lines after the first of one typed-ahead input chunk, recorded after it once their echo shows. */
  #typedAhead: string[] = [];
  #disposed = false;
  #lastInputAt = 0;
  #lastOutputAt = 0;
  #settled: Promise<void> | null = null;
  readonly #readline: ReadlineLines;
  /** Lines the readline reader saw accepted, not yet reported (in order). */
  #records: ReadlineRecord[] = [];
  #recordQuiet: NodeJS.Timeout | null = null;
  /** Lines recovered at Enter, waiting to know whether this is a readline shell. */
  #keyLines: RecoveredCommand[] = [];
  #graceTimer: NodeJS.Timeout | null = null;
  readonly #startedMono = performance.now();

  constructor(opts: CommandRecorderOptions) {
    this.#cols = clampSize(opts.cols, 80);
    this.#rows = clampSize(opts.rows, 24);
    this.#onCommand = opts.onCommand;
    this.#startedAt = (opts.startedAt ?? new Date()).getTime();
    this.#log = opts.log;
    this.#readline = new ReadlineLines({
      cols: this.#cols, rows: this.#rows,
      onClose: (line, at, continuation) => this.#onReadlineClose(line, at, continuation),
      onOutside: (data) => this.#onReadlineOutput(data),
      // The next line of an unfinished command (PS2) belongs to the command before.
      onWindow: (continuation) => {
        if (!continuation) this.#completeRecords();
      },
      onError: (err) => this.#fault(err),
    });
  }

  /** Operator → backend bytes. */
  input(data: Buffer): void {
    if (this.#disposed || data.length === 0) return;
    this.#lastInputAt = performance.now();
    try {
      if (!this.#readline.open) this.#typedWhileRunning(data);
      this.#readline.input(data);
      this.#onInput(data);
    } catch (err) {
      this.#fault(err);
    }
  }

  /** Backend → operator bytes. */
  output(data: Buffer): void {
    if (this.#disposed || data.length === 0) return;
    this.#lastOutputAt = performance.now();
    try {
      this.#readline.output(data);
      this.#onOutput(data);
    } catch (err) {
      this.#fault(err);
    }
  }

  /**
   * The command being typed right now, as the emulator shows it (prompt stripped), once it
   * has parsed the output so far; null when no line is being typed on the normal screen.
   * The gateway's command filters read it when Enter arrives, before passing Enter on.
   * A line whose Enter the shell has not answered with a newline is still being typed: a
   * shell where that key does not run the line (`bind '"\r": end-of-line'`) stays on it, and
   * the next key that does (Ctrl-J) would otherwise be checked against the keys alone.
   */
  async currentLine(): Promise<ScreenLine | null> {
    const phase = this.#phase;
    const term = this.#term;
    if (this.#disposed || phase.kind === 'idle' || !term) return null;
    await this.#echoSettled();
    return new Promise((resolve) => {
      term.write('', () => {
        if (this.#phase !== phase || this.#term !== term || term.buffer.active.type === 'alternate') return resolve(null);
        // All of it: the filters must see a long line's end too (a 1000-column terminal shows
        // far more than a command row keeps). It is whole while the screen still shows where it
        // began: the prompt as read at its first key (which may itself follow long output that
        // ended without a newline), or a start below the top.
        const shown = readLine(term, false);
        const prompt = phase.line.prompt;
        resolve({ text: stripPrompt(shown, prompt), whole: !startsAboveScreen(term) || (!!prompt && shown.startsWith(prompt)) });
      });
    });
  }

  /**
   * Keys sent in one piece with their Enter (a paste, a script, `tou<Tab>` and Enter) reach
   * the check before the shell has echoed them, and the screen then still shows the line
   * before (a refused one, say) or lacks a completion. Waits until output has come after the
   * last key and then been quiet for ECHO_QUIET_MS, at most ECHO_WAIT_MS (a password prompt
   * never echoes). A person who sees the echo before pressing Enter does not wait at all.
   */
  #echoSettled(): Promise<void> {
    const deadline = performance.now() + ECHO_WAIT_MS;
    const settled = (): boolean => {
      const now = performance.now();
      return now >= deadline || (this.#lastOutputAt >= this.#lastInputAt && now - this.#lastOutputAt >= ECHO_QUIET_MS);
    };
    if (settled()) return Promise.resolve();
    return new Promise((resolve) => {
      const poll = (): void => {
        if (settled() || this.#disposed) resolve();
        else setTimeout(poll, ECHO_POLL_MS);
      };
      setTimeout(poll, ECHO_POLL_MS);
    });
  }

  resize(cols: number, rows: number): void {
    if (this.#disposed) return;
    this.#cols = clampSize(cols, this.#cols);
    this.#rows = clampSize(rows, this.#rows);
    this.#readline.resize(this.#cols, this.#rows);
    try {
      this.#term?.resize(this.#cols, this.#rows);
    } catch (err) {
      this.#fault(err);
    }
  }

  /**
   * Records what is still pending (a line whose newline echo is on its way, the last
   * command's excerpt) and frees the emulator. The returned promise settles once every
   * command has been passed to onCommand; callers may ignore it (the interface is void).
   */
  dispose(): Promise<void> {
    if (this.#settled) return this.#settled;
    this.#disposed = true;
    this.#clearTimer('linger');
    this.#clearTimer('quiet');
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#graceTimer = null;
    const term = this.#term;
    const phase = this.#phase;
    const readline = this.#readline.dispose().then(() => {
      this.#clearRecordQuiet();
      this.#completeRecords();
    });
    const legacy = new Promise<void>((resolve) => {
      const finish = (): void => {
        try {
          if (term && phase.kind === 'entered') this.#resolve(this.#newSlot(phase.at), term, phase.line);
          this.#settleHeld();
          this.#emit(this.#slots.length);
        } catch (err) {
          this.#fault(err);
        }
        term?.dispose();
        this.#term = null;
        this.#tail = null;
        resolve();
      };
      // Let the emulator parse what it was given (and resolve the slots waiting for it).
      if (term) term.write('', finish);
      else finish();
    });
    this.#settled = Promise.all([legacy, readline]).then(() => undefined);
    return this.#settled;
  }

  #onInput(data: Buffer): void {
    let rest = data;
    if (this.#phase.kind === 'idle') {
      // Keys for a full-screen program (vim, less, top) do not make command lines: no emulator.
      if (this.#altScreen) return;
      this.#startLine();
    }
    for (;;) {
      const enter = indexOfAccept(rest);
      const phase = this.#phase;
      if (enter < 0) {
        // Ctrl-C does not end the line here: whether the shell dropped it is for the screen to
        // say. A shell that ignores SIGINT (`trap '' INT`, `stty intr undef`) keeps the line,
        // and the next Enter runs it: had Ctrl-C ended the line, that Enter would have started
        // a new one whose "prompt" was the kept line, and the command filters would have read
        // an empty line and let it run. A shell that drops it draws a fresh prompt below, and
        // the line is read from there (its prompt as the one before, or any `$ `-style end).
        if (phase.kind === 'typing') addKeys(phase.line, rest);
        return;
      }
      if (phase.kind === 'typing') {
        addKeys(phase.line, rest.subarray(0, enter));
        this.#phase = { kind: 'entered', line: phase.line, at: new Date(), fed: phase.fed };
      } else if (phase.kind === 'entered') {
        // More Enters before the first one's echo: typed-ahead (or pasted) lines.
        const line = typedText(rest.subarray(0, enter));
        if (line) this.#typedAhead.push(line);
      }
      rest = rest.subarray(enter + acceptLength(rest, enter));
      if (rest.length === 0) return;
    }
  }

  #onOutput(data: Buffer): void {
    this.#trackAltScreen(data);
    this.#remember(data);
    const phase = this.#phase;
    if (phase.kind === 'idle') {
      this.#collect(data);
      return;
    }
    const term = this.#term;
    if (!term) return;
    phase.fed += data.length;
    if (phase.fed > MAX_LINE_OUTPUT) {
      this.#abandonLine();
      return;
    }
    if (phase.kind === 'typing') {
      term.write(data);
      return;
    }
    // Entered: the line is complete just before the backend's newline.
    const nl = data.indexOf(0x0a);
    if (nl < 0) {
      term.write(data);
      return;
    }
    this.#phase = { kind: 'idle' };
    const slot = this.#newSlot(phase.at);
    const typedAhead = this.#typedAhead;
    this.#typedAhead = [];
    term.write(data.subarray(0, nl), () => {
      try {
        this.#resolve(slot, term, phase.line, typedAhead);
      } catch (err) {
        this.#fault(err);
      }
    });
    this.#linger();
    // From the newline on: it separates what came before (if this line turns out not to
    // be a command, its output continues the one before it).
    this.#collect(data.subarray(nl));
  }

  /** The first key of a line: (re)prime the emulator with the recent output and read the prompt. */
  #startLine(): void {
    this.#clearTimer('linger');
    // Output no longer goes to a held line: what it has decides it.
    this.#settleHeld();
    const line: Line = { prompt: null, keys: [], keyBytes: 0 };
    this.#phase = { kind: 'typing', line, fed: 0 };
    let term = this.#term;
    if (term) {
      term.write('\x1bc'); // RIS, through the write queue: after what it still has to parse
    } else {
      term = new (headlessTerminal())({ cols: this.#cols, rows: this.#rows, scrollback: 0, allowProposedApi: true, logLevel: 'off' });
      this.#term = term;
    }
    if (this.#altScreen) term.write('\x1b[?1049h');
    const tail = this.#tailFromLineStart();
    if (tail.length > 0) term.write(tail);
    term.write('', () => {
      line.prompt = readLine(term, true);
    });
  }

  #abandonLine(): void {
    this.#phase = { kind: 'idle' };
    this.#typedAhead = [];
    this.#linger();
  }

  #newSlot(at: Date): Slot {
    const slot: Slot = { at, input: undefined, prompt: '', raw: [], rawBytes: 0 };
    this.#slots.push(slot);
    return slot;
  }

  /** The emulator has parsed up to the newline: read the entered line (see the file comment). */
  #resolve(slot: Slot, term: XTerminal, line: Line, typedAhead: string[] = []): void {
    const prompt = line.prompt ?? '';
    slot.prompt = prompt;
    const alternate = term.buffer.active.type === 'alternate';
    slot.input = alternate ? '' : stripPrompt(readLine(term, false), line.prompt).slice(0, MAX_COMMAND_CHARS);
    const index = this.#slots.indexOf(slot);
    if (index < 0) return;
    const typed = !slot.input && !alternate && typedAhead.length === 0 && line.keyBytes <= MAX_COMMAND_CHARS ? typedText(Buffer.concat(line.keys)) : '';
    if (typed && index === this.#slots.length - 1 && this.#phase.kind === 'idle') {
      // Keys were typed but the line reads empty: its echo may still be on the way (file comment).
      slot.echo = typed;
      this.#settleEcho(slot, false);
      return;
    }
    if (typedAhead.length > 0) slot.ahead = typedAhead.map((typed) => typed.slice(0, MAX_COMMAND_CHARS));
    else if (!slot.input) this.#notACommand(slot);
    this.#emitDecided();
  }

  /**
   * Not a command (an echo-off password, an empty line): what follows it belongs to the
   * command before, e.g. `sudo ls` → password → the listing.
   */
  #notACommand(slot: Slot): void {
    const index = this.#slots.indexOf(slot);
    if (index < 0) return;
    this.#slots.splice(index, 1);
    const before = this.#slots[index - 1];
    if (before) for (const part of slot.raw) addRaw(before, part);
  }

  /** Slots before the last command have their whole excerpt now (a later line that turns out not to be a command would still add to the one before it). */
  #emitDecided(): void {
    let last = -1;
    for (let i = 0; i < this.#slots.length; i++) if (this.#slots[i]!.input || this.#slots[i]!.ahead) last = i;
    this.#emit(Math.max(0, last));
    this.#armQuietTimer();
  }

  /** Held lines are decided on the output they have: no more comes to them. */
  #settleHeld(): void {
    for (const slot of [...this.#slots]) if (slot.echo !== undefined) this.#settleEcho(slot, true);
  }

  /**
   * A held line (see the file comment) is decided by the first line of output after it: the
   * prompt and exactly the typed text make it a command. `force`: decide on what came so far.
   */
  #settleEcho(slot: Slot, force: boolean): void {
    const echo = slot.echo;
    if (echo === undefined) return;
    const text = plainText(Buffer.concat(slot.raw).toString('utf8')).replace(/^\n/, '');
    const nl = text.indexOf('\n');
    if (nl < 0 && !force && slot.rawBytes < EXCERPT_RAW_BYTES) {
      this.#armQuietTimer(); // a quiet session decides it on what came
      return;
    }
    slot.echo = undefined;
    const first = nl < 0 ? text : text.slice(0, nl);
    if (isEchoOf(first, slot.prompt, echo)) {
      slot.input = echo;
      slot.echoed = true;
    } else {
      this.#notACommand(slot);
    }
    this.#emitDecided();
  }

  /** Passes the first `count` slots to onCommand (those resolved as commands). */
  #emit(count: number): void {
    const done = this.#slots.splice(0, count);
    for (const slot of done) {
      if (!slot.input && !slot.ahead) continue;
      let text = plainText(Buffer.concat(slot.raw).toString('utf8')).replace(/^\n/, '');
      // Its echo is not its output (an echo with nothing after it leaves no output).
      if (slot.echoed) text = text.includes('\n') ? text.slice(text.indexOf('\n') + 1) : '';
      const lines = slot.ahead
        ? splitTypedAhead(text, slot.prompt, slot.input ?? '', slot.ahead, slot.rawBytes >= EXCERPT_RAW_BYTES)
        : [{ input: slot.input ?? '', output: text }];
      for (const line of lines) {
        if (!line.input) continue;
        const output = excerpt(dropTrailingPrompt(line.output, slot.prompt), EXCERPT_CHARS);
        this.#keyLines.push({ input: line.input, output, offsetMs: Math.max(0, slot.at.getTime() - this.#startedAt), at: slot.at });
      }
    }
    if (this.#slots.length === 0) this.#clearTimer('quiet');
    this.#flushKeyLines();
  }

  /**
   * Lines recovered at Enter are reported only in a shell that is no readline shell: there the
   * readline reader knows better (it saw what ran, not what was typed, and never reads a
   * password typed ahead and echoed by the terminal). A shell shows whether it is one with its
   * first prompt, so they wait until the session is READLINE_GRACE_MS old (or ends).
   */
  #flushKeyLines(): void {
    if (this.#readline.windows > 0) {
      this.#keyLines = [];
      return;
    }
    const wait = this.#startedMono + READLINE_GRACE_MS - performance.now();
    if (wait > 0 && !this.#disposed) {
      this.#graceTimer ??= setTimeout(() => {
        this.#graceTimer = null;
        this.#flushKeyLines();
      }, wait).unref();
      return;
    }
    const lines = this.#keyLines;
    this.#keyLines = [];
    for (const c of lines) {
      try {
        this.#onCommand(c);
      } catch (err) {
        this.#fault(err);
      }
    }
  }

  #onReadlineClose(line: Promise<AcceptedLine | null>, at: Date, continuation: boolean): void {
    const last = this.#records[this.#records.length - 1];
    if (continuation && last && !last.complete) {
      this.#read(last, Promise.all([last.reading, line]).then(([a, b]) => joinContinuation(a, b)));
      return;
    }
    this.#completeRecords();
    const record: ReadlineRecord = { at, line: undefined, reading: line, raw: [], rawBytes: 0, complete: false, typed: [], typedBytes: 0 };
    this.#records.push(record);
    this.#read(record, line);
    this.#armRecordQuiet();
  }

  #read(record: ReadlineRecord, reading: Promise<AcceptedLine | null>): void {
    record.reading = reading;
    record.line = undefined;
    void reading.then((l) => {
      if (record.reading !== reading) return; // a continuation was joined meanwhile
      record.line = l;
      this.#reportRecords();
    });
  }

  #typedWhileRunning(data: Buffer): void {
    const record = this.#records[this.#records.length - 1];
    if (!record || record.complete || record.typedBytes >= MAX_TYPED_BYTES) return;
    const part = data.subarray(0, MAX_TYPED_BYTES - record.typedBytes);
    record.typed.push(Buffer.from(part));
    record.typedBytes += part.length;
  }

  /** Output outside readline windows: the excerpt of the last accepted line. */
  #onReadlineOutput(data: Buffer): void {
    const record = this.#records[this.#records.length - 1];
    if (!record || record.complete || record.rawBytes >= EXCERPT_RAW_BYTES) return;
    const room = EXCERPT_RAW_BYTES - record.rawBytes;
    const part = data.length > room ? data.subarray(0, room) : data;
    record.raw.push(Buffer.from(part));
    record.rawBytes += part.length;
    if (record.rawBytes >= EXCERPT_RAW_BYTES) this.#completeRecords();
    else this.#armRecordQuiet();
  }

  /** The output of every accepted line so far is complete (a new line started, quiet, the end). */
  #completeRecords(): void {
    for (const r of this.#records) r.complete = true;
    this.#reportRecords();
  }

  /** Reports complete, read records in order. */
  #reportRecords(): void {
    while (this.#records.length > 0 && this.#records[0]!.complete && this.#records[0]!.line !== undefined) {
      const record = this.#records.shift()!;
      const line = record.line;
      if (!line) continue;
      const offsetMs = Math.max(0, record.at.getTime() - this.#startedAt);
      const output = excerpt(withoutTypedEcho(plainText(Buffer.concat(record.raw).toString('utf8')).replace(/^\n/, ''), record.typed), EXCERPT_CHARS);
      const commands: RecoveredCommand[] = line.kind === 'notEchoed'
        ? [{ input: notEchoedInput(line.length), output, offsetMs, at: record.at, notEchoed: true }]
        // A block of lines ran as one (a paste): its output is the last line's.
        : line.lines.map((input, i) => ({ input: input.slice(0, MAX_COMMAND_CHARS), output: i === line.lines.length - 1 ? output : '', offsetMs, at: record.at }));
      for (const c of commands) {
        try {
          this.#onCommand(c);
        } catch (err) {
          this.#fault(err);
        }
      }
    }
    if (this.#records.length === 0) this.#clearRecordQuiet();
  }

  #armRecordQuiet(): void {
    if (this.#disposed) return;
    if (this.#recordQuiet) {
      this.#recordQuiet.refresh();
      return;
    }
    this.#recordQuiet = setTimeout(() => {
      this.#recordQuiet = null;
      // A command being continued (PS2) is not finished, however long the operator takes.
      if (!this.#readline.continuing) this.#completeRecords();
    }, EXCERPT_QUIET_MS).unref();
  }

  #clearRecordQuiet(): void {
    if (this.#recordQuiet) clearTimeout(this.#recordQuiet);
    this.#recordQuiet = null;
  }

  /** Output while no line is typed: the excerpt of the last entered line. */
  #collect(data: Buffer): void {
    const slot = this.#slots[this.#slots.length - 1];
    if (!slot || data.length === 0) return;
    if (slot.rawBytes >= EXCERPT_RAW_BYTES) return;
    addRaw(slot, data);
    if (slot.echo !== undefined) this.#settleEcho(slot, false);
    else if (slot.rawBytes >= EXCERPT_RAW_BYTES && slot.input !== undefined) this.#emit(this.#slots.length);
    else this.#armQuietTimer();
  }

  #armQuietTimer(): void {
    if (this.#disposed || this.#slots.length === 0) return;
    if (this.#quietTimer) {
      this.#quietTimer.refresh();
      return;
    }
    this.#quietTimer = setTimeout(() => {
      this.#quietTimer = null;
      // While a line is typed its Enter (or the end) decides; unresolved slots wait for the emulator.
      if (this.#phase.kind !== 'idle') return;
      this.#settleHeld();
      let resolved = 0;
      while (resolved < this.#slots.length && this.#slots[resolved]!.input !== undefined) resolved++;
      this.#emit(resolved);
    }, EXCERPT_QUIET_MS).unref();
  }

  /** Keeps the emulator a while for the next line, then frees it. */
  #linger(): void {
    if (this.#lingerTimer) {
      this.#lingerTimer.refresh();
      return;
    }
    this.#lingerTimer = setTimeout(() => {
      this.#lingerTimer = null;
      const term = this.#term;
      if (this.#phase.kind !== 'idle' || !term) return;
      this.#term = null;
      // After what it still has to parse (slots may wait for it).
      term.write('', () => term.dispose());
    }, TERMINAL_LINGER_MS).unref();
  }

  #clearTimer(which: 'linger' | 'quiet'): void {
    const timer = which === 'linger' ? this.#lingerTimer : this.#quietTimer;
    if (timer) clearTimeout(timer);
    if (which === 'linger') this.#lingerTimer = null;
    else this.#quietTimer = null;
  }

  #remember(data: Buffer): void {
    const src = data.length > TAIL_BYTES ? data.subarray(data.length - TAIL_BYTES) : data;
    this.#tail ??= Buffer.allocUnsafe(TAIL_BYTES);
    const tail = this.#tail;
    const first = Math.min(src.length, TAIL_BYTES - this.#tailEnd);
    src.copy(tail, this.#tailEnd, 0, first);
    if (first < src.length) {
      src.copy(tail, 0, first);
      this.#tailEnd = src.length - first;
      this.#tailFull = true;
    } else {
      this.#tailEnd += first;
      if (this.#tailEnd === TAIL_BYTES) {
        this.#tailEnd = 0;
        this.#tailFull = true;
      }
    }
  }

  /** The remembered output, from the start of its first complete line when it was cut. */
  #tailFromLineStart(): Buffer {
    const tail = this.#tail;
    if (!tail) return Buffer.alloc(0);
    if (!this.#tailFull) return Buffer.from(tail.subarray(0, this.#tailEnd));
    const bytes = Buffer.concat([tail.subarray(this.#tailEnd), tail.subarray(0, this.#tailEnd)]);
    const nl = bytes.indexOf(0x0a);
    return nl >= 0 ? bytes.subarray(nl + 1) : bytes;
  }

  /**
   * Follows the switches to and from the alternate screen (DECSET 1049/1047/47), also
   * when a switch is split between two output chunks.
   */
  #trackAltScreen(data: Buffer): void {
    const carry = this.#altCarry;
    if (carry) {
      this.#altCarry = null;
      this.#scanAltScreen(Buffer.concat([carry, data.subarray(0, ALT_SEQUENCE_MAX)]), carry.length);
    }
    this.#scanAltScreen(data, data.length);
    const esc = data.lastIndexOf(0x1b);
    if (esc >= 0 && data.length - esc < ALT_SEQUENCE_MAX && !/[hl]/.test(data.toString('latin1', esc + 1))) {
      this.#altCarry = Buffer.from(data.subarray(esc));
    }
  }

  /** Applies the switches that start before `limit`. */
  #scanAltScreen(data: Buffer, limit: number): void {
    let i = data.indexOf(ALT_SCREEN);
    while (i >= 0 && i < limit) {
      let j = i + 3;
      while (j < data.length && j < i + ALT_SEQUENCE_MAX && (isDigit(data[j]!) || data[j] === 0x3b)) j++;
      const final = data[j];
      if (final === 0x68 || final === 0x6c) {
        const modes = data.toString('latin1', i + 3, j).split(';');
        if (modes.some((m) => ALT_MODES.has(m))) this.#altScreen = final === 0x68;
      }
      i = data.indexOf(ALT_SCREEN, i + 3);
    }
  }

  #fault(err: unknown): void {
    this.#log?.warn({ err }, 'command recovery failed on a line; the session goes on');
    this.#phase = { kind: 'idle' };
  }
}

function addKeys(line: Line, keys: Buffer): void {
  if (keys.length === 0 || line.keyBytes > MAX_COMMAND_CHARS) return;
  line.keys.push(Buffer.from(keys));
  line.keyBytes += keys.length;
}

function addRaw(slot: Slot, data: Buffer): void {
  const room = EXCERPT_RAW_BYTES - slot.rawBytes;
  if (room <= 0) return;
  const part = data.length > room ? data.subarray(0, room) : data;
  slot.raw.push(Buffer.from(part)); // a copy: never pin the caller's (larger) buffer
  slot.rawBytes += part.length;
}

/** The first row of the cursor's logical line (the rows it wraps over). */
function lineStartRow(term: XTerminal): number {
  const buf = term.buffer.active;
  let start = buf.baseY + buf.cursorY;
  while (start > 0 && buf.getLine(start)?.isWrapped) start--;
  return start;
}

/** Whether the cursor's line began on a row that has scrolled off the top (the emulator keeps no scrollback). */
function startsAboveScreen(term: XTerminal): boolean {
  return lineStartRow(term) === 0 && term.buffer.active.getLine(0)?.isWrapped === true;
}

/** The logical line at the cursor (wrapped rows joined); with `toCursor`, only up to the cursor. */
function readLine(term: XTerminal, toCursor: boolean): string {
  const buf = term.buffer.active;
  const row = buf.baseY + buf.cursorY;
  const start = lineStartRow(term);
  let end = row;
  // Bounded by the buffer's length: getLine() past the end is not undefined but a row from the
  // start again (a ring), and a line longer than the screen has every row wrapped, so an
  // unbounded walk never ended and hung the gateway's process.
  if (!toCursor) while (end + 1 < buf.length && buf.getLine(end + 1)?.isWrapped) end++;
  let text = '';
  for (let r = start; r <= end; r++) {
    const line = buf.getLine(r);
    if (!line) break;
    if (toCursor && r === row) text += line.translateToString(false, 0, buf.cursorX);
    else text += line.translateToString(r === end);
  }
  return text;
}

function stripPrompt(line: string, prompt: string | null): string {
  if (prompt && prompt.trim() && line.startsWith(prompt)) return line.slice(prompt.length).trim();
  if (prompt !== null && !prompt.trim() && prompt.length > 0 && line.startsWith(prompt)) return line.slice(prompt.length).trim();
  const m = PROMPT_END.exec(line);
  return (m ? line.slice(m[0].length) : line).trim();
}

/** Whether an output line is the shell's echo of `typed`: exactly it, after the prompt if the line has one. */
function isEchoOf(line: string, prompt: string, typed: string): boolean {
  return stripPrompt(line, prompt) === typed;
}

/**
 * The command entered and the lines typed ahead after it, each with its output: a typed-ahead
 * line counts once its echo is found in the output, in order. One never
 * echoed is not recorded (a password typed ahead of its prompt), unless the output
 * overflowed the window (`windowFull`) before it could show: then it comes from the keys.
 */
function splitTypedAhead(text: string, prompt: string, first: string, ahead: string[], windowFull: boolean): { input: string; output: string }[] {
  const lines = text.split('\n');
  const marks: { input: string; line: number }[] = [{ input: first, line: -1 }];
  const unseen: string[] = [];
  let cursor = 0;
  for (const typed of ahead) {
    let j = cursor;
    while (j < lines.length && !isEchoOf(lines[j]!, prompt, typed)) j++;
    if (j < lines.length) {
      marks.push({ input: typed, line: j });
      cursor = j + 1;
    } else if (windowFull) {
      unseen.push(typed);
    }
  }
  const found = marks.map((m, i) => {
    const end = i + 1 < marks.length ? marks[i + 1]!.line : lines.length;
    const body = lines.slice(m.line + 1, end);
    // Text before the next echo ends with its newline; the last part stays as it came.
    return { input: m.input, output: i + 1 < marks.length ? body.map((l) => `${l}\n`).join('') : body.join('\n') };
  });
  return [...found, ...unseen.map((input) => ({ input, output: '' }))];
}

/** The next prompt ends the excerpt: the known prompt, or a last unfinished line that looks like one. */
function dropTrailingPrompt(text: string, prompt: string): string {
  const nl = text.lastIndexOf('\n');
  const last = text.slice(nl + 1);
  if (!last) return text;
  const isPrompt = (prompt.trim() && last.trimEnd() === prompt.trimEnd()) || /[$#%>]\s?$/.test(last);
  return isPrompt ? text.slice(0, nl + 1) : text;
}

/**
 * An unfinished command and its next line (PS2), joined the way bash keeps them in its history
 * (`cmdhist`): with `; `, or a space after a word or operator that a `;` cannot follow.
 */
function joinContinuation(before: AcceptedLine | null, next: AcceptedLine | null): AcceptedLine | null {
  if (!before || before.kind !== 'lines') return next;
  if (!next || next.kind !== 'lines') return before;
  const lines = [...before.lines];
  const head = lines.pop()!;
  const [first, ...rest] = next.lines;
  const glue = /(?:^|\s)(?:do|then|else|in)$|[{(|&;]$/.test(head) ? ' ' : '; ';
  return { kind: 'lines', lines: [...lines, `${head}${glue}${first}`, ...rest] };
}

/**
 * Keys typed while a command runs are echoed by the terminal (its echo is on then) and land
 * in the command's output, a password typed ahead of its prompt among them. The excerpt does
 * not keep them (the recording still shows the screen as it was).
 */
function withoutTypedEcho(text: string, typed: Buffer[]): string {
  if (typed.length === 0) return text;
  let out = text;
  for (const line of Buffer.concat(typed).toString('utf8').split(/[\r\n]/)) {
    const t = typedText(Buffer.from(line));
    if (t.length >= MIN_REDACTED_CHARS) out = out.split(t).join('');
  }
  return out;
}

/** A typed-ahead line, from the keystrokes: printable text with backspaces applied. */
function typedText(keys: Buffer): string {
  let out = '';
  const s = keys.toString('utf8').replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1bO.|\x1b./g, '');
  for (const ch of s) {
    if (ch === '\x7f' || ch === '\b') out = out.slice(0, -1);
    else if (ch === '\x15' || ch === '\x03') out = '';
    else if (ch >= ' ') out += ch;
  }
  return out.trim();
}

/** Where the first Enter (CR or LF) of typed input is, or -1; the command filters' guard splits lines the same way. */
function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

function clampSize(n: number, fallback: number): number {
  return Number.isInteger(n) && n > 0 && n <= 1000 ? n : fallback;
}
