// The command filters' tap on an interactive shell's input (koko's "command parser" on the
// operator's side). Keystrokes pass straight through; an Enter is held until the line it
// submits has been checked against the filters:
//   allow   → the Enter goes on;
//   deny    → the Enter is dropped, the line erased (Ctrl-E Ctrl-U) and then interrupted
//             (Ctrl-C, a fresh prompt), and the operator is told which filter refused it;
//   confirm → the Enter waits for an administrator; approved → it goes on, rejected or
//             timed out → as deny. Input typed meanwhile is held (bounded), and Ctrl-C cancels.
//
// The line is read two ways and the stricter verdict wins: as the terminal emulator shows
// it (tab completion, history recall and line editing already applied by the shell), and as
// typed since the last Enter (keys the backend has not echoed yet, e.g. a paste or a script
// that sends a whole line with its Enter at once).
//
// "Enter" is every key that makes readline run the line (recording/acceptKeys.ts: CR, LF,
// ^O), and readline's insert-comment (M-#, or # in vi command mode) as well: with an
// argument it uncomments the line and runs it, so it is checked like an Enter (the `#` is
// held; the line typed so far is kept, since a plain `#` may just be typed).
//
// edit-and-execute-command (C-x C-e, vi's v) runs what is written in an editor, unseen: while a
// filter applies the key is dropped and the operator told.
//
// Without a PTY there is no line editing: input is forwarded a whole line at a time, each
// line checked first, and a refused line is dropped.
import type { CommandVerdict } from '../../core/access/commandFilters.ts';
import { acceptLength, acceptsLine } from '../recording/acceptKeys.ts';
import { terminalLineOf } from '../terminalSafe.ts';
import type { ScreenLine } from '../recording/commandRecorder.ts';

/** Input held while an administrator decides; more is dropped (with one notice). */
const HOLD_BYTES = 64 * 1024;
/** Longest line (without a PTY) gathered before it is checked and passed on in pieces. */
const MAX_LINE_BYTES = 64 * 1024;
/** How long the emulator may take to show the line. */
const LINE_READ_MS = 1000;

export interface ConfirmOutcome {
  approved: boolean;
  by: string | null;
}

export interface CommandGuardHooks {
  /** True when the operator has a terminal (Enter is \r, Ctrl-C cancels a line). */
  pty: boolean;
  /** Bytes on to the backend (and the session's taps). */
  forward(bytes: Buffer): void;
  /** Text to the operator's terminal. */
  say(text: string): void;
  /** Stop / restart reading the operator's input (while too much is held). */
  pause(): void;
  resume(): void;
  /**
   * Null while the operator takes what is said to them and the command log keeps up; else
   * resolves once both have. A refused line makes a line of output and a command row: the next
   * input waits for them, or a client that sends refused lines and reads nothing had the gateway
   * queue refusals and rows without bound (DESIGN rule 13).
   */
  caughtUp(): Promise<void> | null;
  /** Whether any filter applies to this session (no: every check is skipped). */
  enabled(): Promise<boolean>;
  check(line: string): Promise<CommandVerdict>;
  /** The line as the terminal emulator shows it, or null. */
  screenLine(): Promise<ScreenLine | null>;
  /** Resolves at the backend's next output, or after `ms` without any. */
  nextOutput(ms: number): Promise<void>;
  /** Asks an administrator; resolves when decided, timed out, or aborted. */
  confirm(line: string, filterName: string, signal: AbortSignal): Promise<ConfirmOutcome>;
  /** A line the filters refused: recorded as a denied command. */
  refused(line: string, filterName: string): void;
}

const CTRL_C = Buffer.from([0x03]);
/** End of line, then erase back to its start: readline, zsh, fish and a cooked tty's kill character. */
const KILL_LINE = Buffer.from([0x05, 0x15]);
/** How long the shell may take to show that it erased a refused line before the Ctrl-C follows. */
const KILL_SHOWN_MS = 500;
const CTRL_G = Buffer.from([0x07]);
const ESC = 0x1b;
const CTRL_X = 0x18;
const CTRL_E = 0x05;
const HASH = 0x23;
/** vi keys that enter insert mode: after them a `#` is typed text again. */
const LEAVES_COMMAND_MODE = new Set([...'iaIAsScCRoO'].map((c) => c.charCodeAt(0)));

export class CommandGuard {
  readonly #hooks: CommandGuardHooks;
  /** Input that arrived while an Enter was being decided. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #paused = false;
  #dropped = false;
  #busy = false;
  #idle: Array<() => void> = [];
  #confirming: AbortController | null = null;
  #stopped = false;
  /** Without a PTY: the raw bytes of the line gathered so far. */
  #line: Buffer[] = [];
  #lineBytes = 0;
  /** With a PTY: the line as typed since the last Enter. */
  #typed: TypedLine = { text: '', escape: false };
  /** With a PTY: an ESC was typed and no key since has left vi command mode (see #indexOfSubmit). */
  #afterEsc = false;
  /** With a PTY: the last key was Ctrl-X (a prefix). */
  #afterCtrlX = false;
  /** With a PTY: only an ESC and digits (a numeric argument) since the last ESC. */
  #escArgOnly = false;
  /** What the last index #indexOfSubmit returned is. */
  #submitKind: 'accept' | 'comment' | 'editor' = 'accept';

  /** Ends #run's wait for the operator to take its output (stop()). */
  #unblock: (() => void) | null = null;

  constructor(hooks: CommandGuardHooks) {
    this.#hooks = hooks;
  }

  /** Operator → backend bytes. */
  input(chunk: Buffer): void {
    if (this.#stopped || chunk.length === 0) return;
    if (this.#busy) {
      this.#hold(chunk);
      return;
    }
    void this.#run(chunk);
  }

  /** Resolves once all input so far has been passed on (or refused). */
  drained(): Promise<void> {
    if (!this.#busy) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** The operator's input ended (EOF): a last line without a newline is checked and passed on too. */
  async end(): Promise<void> {
    await this.drained();
    if (this.#hooks.pty || this.#lineBytes === 0 || this.#stopped) return;
    this.#busy = true;
    try {
      await this.#enter(Buffer.alloc(0));
    } finally {
      this.#busy = false;
    }
  }

  /** The session is over: a pending confirmation is withdrawn and held input dropped. */
  stop(): void {
    this.#stopped = true;
    this.#unblock?.();
    this.#confirming?.abort();
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  #hold(chunk: Buffer): void {
    if (this.#confirming) {
      // Ctrl-C while an administrator is asked withdraws the question.
      if (this.#hooks.pty && chunk.includes(0x03)) {
        this.#confirming.abort();
        return;
      }
      if (this.#pendingBytes + chunk.length > HOLD_BYTES) {
        if (!this.#dropped) this.#hooks.say('[bastion] input dropped while the command is held\r\n');
        this.#dropped = true;
        return;
      }
    }
    this.#pending.push(Buffer.from(chunk));
    this.#pendingBytes += chunk.length;
    // A quick check with a big paste behind it: the operator's side waits instead.
    if (!this.#paused && this.#pendingBytes > HOLD_BYTES) {
      this.#paused = true;
      this.#hooks.pause();
    }
  }

  async #run(first: Buffer): Promise<void> {
    this.#busy = true;
    try {
      let chunk: Buffer | undefined = first;
      while (chunk && !this.#stopped) {
        await this.#process(chunk);
        // Input held meanwhile waits (and past HOLD_BYTES the operator's side is paused).
        const taken = this.#hooks.caughtUp();
        if (taken) {
          // stop() ends the wait too: the session is over, its output will never be taken.
          await new Promise<void>((resolve) => {
            this.#unblock = resolve;
            void taken.then(resolve);
          });
          this.#unblock = null;
        }
        chunk = this.#pending.shift();
        if (chunk) this.#pendingBytes -= chunk.length;
      }
    } finally {
      this.#busy = false;
      this.#dropped = false;
      if (this.#paused) {
        this.#paused = false;
        this.#hooks.resume();
      }
      for (const fn of this.#idle.splice(0)) fn();
    }
  }

  /** Passes a chunk on, stopping at each Enter until its line is decided. */
  async #process(chunk: Buffer): Promise<void> {
    const pty = this.#hooks.pty;
    if (!pty && this.#lineBytes === 0 && !(await this.#hooks.enabled())) {
      // No filter applies: without a PTY there is nothing to hold back.
      this.#hooks.forward(chunk);
      return;
    }
    let rest = chunk;
    while (rest.length > 0 && !this.#stopped) {
      const enter = pty ? this.#indexOfSubmit(rest) : rest.indexOf(0x0a);
      if (enter < 0) {
        await this.#typing(rest);
        return;
      }
      if (pty && this.#submitKind === 'editor') {
        await this.#typing(rest.subarray(0, enter));
        const key = rest.subarray(enter, enter + 1);
        rest = rest.subarray(enter + 1);
        await this.#editorKey(key);
        continue;
      }
      // \r\n (or \n alone) is one Enter.
      const comment = pty && rest[enter] === HASH;
      const end = enter + (comment ? 1 : acceptLength(rest, enter));
      await this.#typing(rest.subarray(0, enter));
      const ending = rest.subarray(enter, end);
      rest = rest.subarray(end);
      const passed = await this.#enter(ending, comment);
      // Keys sent behind a refused line (the rest of a paste) are dropped with it.
      if (!passed && pty) return;
    }
  }

  /**
   * Index of the next key that submits the line: an accept key, or the `#` of readline's
   * insert-comment after an ESC (M-#, M-1 M-#, vi command mode). The ESC state spans chunks
   * and ends at a key that leaves vi command mode or drops the line.
   */
  #indexOfSubmit(data: Buffer): number {
    for (let i = 0; i < data.length; i++) {
      const b = data[i]!;
      const afterCtrlX = this.#afterCtrlX;
      const escArgOnly = this.#escArgOnly;
      this.#afterCtrlX = b === CTRL_X;
      this.#escArgOnly = (escArgOnly && b >= 0x30 && b <= 0x39) || b === ESC;
      if (acceptsLine(b)) {
        this.#afterEsc = false;
        this.#submitKind = 'accept';
        return i;
      }
      // edit-and-execute-command: C-x C-e (emacs), v right after ESC (vi command mode).
      if ((afterCtrlX && b === CTRL_E) || (escArgOnly && b === 0x76)) {
        this.#submitKind = 'editor';
        return i;
      }
      this.#submitKind = 'comment';
      if (b === ESC && (data[i + 1] === 0x5b || data[i + 1] === 0x4f)) {
        // An arrow or function key (CSI / SS3): moves, does not change the mode.
        this.#escArgOnly = false;
        i += 2;
        while (i < data.length && data[i]! >= 0x20 && data[i]! < 0x40) i++;
      } else if (b === ESC) this.#afterEsc = true;
      else if (this.#afterEsc && b === HASH) return i;
      else if (LEAVES_COMMAND_MODE.has(b) || b === 0x03 || b === 0x07) this.#afterEsc = false;
    }
    return -1;
  }

  /**
   * readline's edit-and-execute-command runs whatever is written in the editor, which the
   * guard never sees: while a filter applies the key is dropped (^G aborts the key sequence)
   * and the operator told why.
   */
  async #editorKey(key: Buffer): Promise<void> {
    if (!(await this.#hooks.enabled())) {
      this.#hooks.forward(key);
      return;
    }
    this.#hooks.say('\r\n[bastion] editing the command in an editor (Ctrl-X Ctrl-E, v) is not available while command filters apply\r\n');
    this.#hooks.forward(CTRL_G);
  }

  /** Keys of a line (no Enter among them). */
  async #typing(bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return;
    if (this.#hooks.pty) {
      this.#typed = applyKeys(this.#typed, bytes);
      this.#hooks.forward(bytes);
      return;
    }
    this.#line.push(Buffer.from(bytes));
    this.#lineBytes += bytes.length;
    if (this.#lineBytes < MAX_LINE_BYTES) return;
    // A very long line: checked and passed on as it is; the rest follows as another piece.
    const piece = this.#takeLine();
    const verdict = await this.#hooks.check(piece.toString('utf8'));
    if (verdict.action === 'allow' && !this.#stopped) this.#hooks.forward(piece);
  }

  #takeLine(): Buffer {
    const line = Buffer.concat(this.#line);
    this.#line = [];
    this.#lineBytes = 0;
    return line;
  }

  /** Decides one submitted line; false when it was refused. */
  async #enter(ending: Buffer, comment = false): Promise<boolean> {
    const hooks = this.#hooks;
    const raw = hooks.pty ? null : this.#takeLine();
    const typed = hooks.pty ? this.#typed.text : raw!.toString('utf8');
    if (comment) this.#typed = applyKeys(this.#typed, ending);
    else this.#typed = { text: '', escape: false };
    if (!(await hooks.enabled())) {
      this.#pass(raw, ending);
      return true;
    }
    const screen = hooks.pty ? await withTimeout(hooks.screenLine(), LINE_READ_MS, null) : null;
    if (screen && !screen.whole) {
      // Its start has scrolled off the screen, and the keys cannot say what Tab completion or
      // history made of it there: a line that cannot be read whole is not run.
      hooks.say('\r\n[bastion] command refused: the line is longer than the terminal shows, so the command filters cannot read all of it (make the terminal larger, or run it from a script)\r\n');
      return this.#drop(screen.text.trim() || typed.trim(), 'line longer than the screen', comment);
    }
    const seen = [screen?.text.trim(), typed.trim()];
    // insert-comment toggles: with an argument it removes the comment sign and runs the line.
    if (comment) seen.push(...seen.map((l) => l?.replace(/^#+\s*/, '')));
    const candidates = [...new Set(seen.filter((l): l is string => Boolean(l)))];
    let line = candidates[0] ?? '';
    let verdict: CommandVerdict = { action: 'allow', filter: null };
    for (const c of candidates) {
      const v = await hooks.check(c);
      if (severity(v) > severity(verdict)) {
        verdict = v;
        line = c;
      }
    }
    if (this.#stopped) return false;
    const name = verdict.filter?.name ?? '';
    if (verdict.action === 'allow') {
      this.#pass(raw, ending);
      return true;
    }
    if (verdict.action === 'confirm') {
      hooks.say(`\r\n[bastion] '${printable(line)}' is held by filter '${printable(name)}': waiting for an administrator to approve… (Ctrl-C cancels)\r\n`);
      const controller = new AbortController();
      this.#confirming = controller;
      let outcome: ConfirmOutcome;
      try {
        outcome = await hooks.confirm(line, name, controller.signal);
      } catch {
        outcome = { approved: false, by: null };
      } finally {
        this.#confirming = null;
      }
      if (this.#stopped) return false;
      if (outcome.approved) {
        hooks.say(`[bastion] approved by ${printable(outcome.by ?? 'an administrator')}\r\n`);
        this.#pass(raw, ending);
        return true;
      }
      const why = controller.signal.aborted ? 'cancelled' : outcome.by ? `rejected by ${printable(outcome.by)}` : 'not approved in time';
      hooks.say(`[bastion] command ${why}\r\n`);
    } else {
      hooks.say(`\r\n[bastion] command refused by filter '${printable(name)}'\r\n`);
    }
    return this.#drop(line, name, comment);
  }

  /** A refused line: recorded, and dropped from the shell with what was typed behind it. */
  async #drop(line: string, name: string, comment: boolean): Promise<false> {
    const hooks = this.#hooks;
    hooks.refused(line, name);
    if (!hooks.pty) return false;
    // Nothing typed ahead behind a refused line runs either; the shell drops the line
    // (Ctrl-C) and shows a fresh prompt.
    this.#pending = [];
    this.#pendingBytes = 0;
    // A refused insert-comment: readline is inside a key sequence (ESC 1 ESC), where a ^C does
    // not reliably drop the line; ^G aborts the sequence and its argument, and the line stays
    // commented out, which is harmless.
    if (comment) {
      hooks.forward(CTRL_G);
      return false;
    }
    // The line is erased with keys first, read in order with what was typed, and interrupted
    // (^C, a fresh prompt) only once the shell has shown the erasure. A ^C alone is a signal,
    // not a key: a shell that ignores SIGINT (`trap '' INT`) kept the refused line, and the
    // next Enter ran it unchecked; bash also kept it now and then when the signal came during
    // a redraw (a webterminal test failed so). Both in one write would not do: the tty's ^C
    // discards the input the shell has not read yet, the erasing keys with it. Should a shell
    // keep the line anyway (the ^C came first, or ^U erases nothing there), it is still on the
    // screen, where the next Enter reads it: the command reader never takes a ^C to have ended a line.
    hooks.forward(KILL_LINE);
    await hooks.nextOutput(KILL_SHOWN_MS);
    if (this.#stopped) return false;
    hooks.forward(CTRL_C);
    return false;
  }

  #pass(line: Buffer | null, ending: Buffer): void {
    this.#hooks.forward(line && line.length > 0 ? Buffer.concat([line, ending]) : ending);
  }
}

function severity(v: CommandVerdict): number {
  return v.action === 'deny' ? 2 : v.action === 'confirm' ? 1 : 0;
}

interface TypedLine {
  text: string;
  /** Inside an escape sequence (which may continue in the next chunk). */
  escape: boolean;
}

/**
 * The typed line after these keys: printable text appended, Backspace, Ctrl-U (line) and
 * Ctrl-W (word) applied, Ctrl-C clears, escape sequences (arrows, function keys) skipped.
 * Cursor movements are not followed: a word typed at the start of the line counts as
 * typed at the end, which can only make a check stricter.
 */
function applyKeys(line: TypedLine, keys: Buffer): TypedLine {
  let { text, escape } = line;
  for (const ch of keys.toString('utf8')) {
    if (escape) {
      // ESC [ params final, ESC O x, ESC x: everything up to the final letter is skipped.
      if (ch === '[' || ch === 'O' || (ch >= ' ' && ch <= '?')) continue;
      escape = false;
      continue;
    }
    if (ch === '\x1b') escape = true;
    else if (ch === '\x7f' || ch === '\b') text = text.slice(0, -1);
    else if (ch === '\x15' || ch === '\x03') text = '';
    else if (ch === '\x17') text = text.replace(/\S*\s*$/, '');
    else if (ch >= ' ') text += ch;
  }
  return { text: text.length > 65_536 ? text.slice(-65_536) : text, escape };
}

/** Text safe to print on the operator's terminal: one line, at most 200 characters. */
function printable(text: string): string {
  return terminalLineOf(text, 200);
}

function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    void p.then((v) => {
      clearTimeout(timer);
      resolve(v);
    }, () => {
      clearTimeout(timer);
      resolve(fallback);
    });
  });
}
