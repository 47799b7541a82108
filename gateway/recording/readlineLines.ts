// The lines a readline shell (bash ≥ 5.1, zsh) accepted, read from its output alone.
//
// Such a shell turns bracketed paste on (`ESC [ ? 2004 h`) when readline starts reading a
// line, just before the prompt, and off (`ESC [ ? 2004 l`) when the line is done. Between the
// two, everything on screen is readline's: the prompt and the line as it is edited. So the
// command is what that window shows when it closes, whatever keys made it: typed, edited,
// completed, recalled (Up, Ctrl-R), pasted (several lines at once), typed ahead while the
// previous command ran, sent by a script, accepted by Enter, Ctrl-J or Ctrl-O. Keys are not
// interpreted at all, so nothing typed outside a window (a password at `read -s` or `sudo`,
// keys for a full-screen program, keys typed ahead and read by a password prompt) can become
// a command.
//
// How a window ends tells whether the line ran:
// - readline moves to a new line on accept, so the window ends after a newline: accepted;
// - Ctrl-C leaves the cursor on the line (`^C`): not accepted;
// - with the terminal's echo off (`stty -echo`) readline shows neither the keys nor the
//   newline: the window ends on the bare prompt. If printable keys were sent to the shell
//   while the window was open, a line ran that the screen cannot show: it is reported as
//   "not echoed" with its length, never its text.
//
// Windows opened on the alternate screen (vim turns bracketed paste on too) are ignored.
// Memory: a window's bytes are kept (bounded) and replayed into a terminal emulator only when
// it closes; the emulator is kept a while for the next line, then freed.
import type { Terminal as XTerminal } from '@xterm/headless';
import { headlessTerminal } from '../../core/xtermHeadless.ts';
import { acceptsLine } from './acceptKeys.ts';

/** A window longer than this is not a command line being edited: it is dropped. */
const MAX_WINDOW_BYTES = 64 * 1024;
/** Enough rows for the longest window to be read back after it scrolled. */
const SCROLLBACK_ROWS = 2000;
/** The output before a window on the same row (to place the prompt at its column). */
const MAX_PREFIX_BYTES = 1024;
/** Keys kept per window, to measure a line typed with echo off. */
const MAX_WINDOW_KEYS = 8192;
const TERMINAL_LINGER_MS = 15_000;
const PROMPT_END = /^.*?[$#%>](?: |$)/;
const PROMPT_TAIL = /[$#%>] $/;
/** A prompt that asks a question (`read -e -p "Name: "`): what is typed there is no command. */
const QUESTION_TAIL = /[:?] $/;
/** bash's continuation prompt (PS2), shown when the line so far is an unfinished command. */
const CONTINUATION = '> ';
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[^[\]]/g;

export type AcceptedLine = { kind: 'lines'; lines: string[] } | { kind: 'notEchoed'; length: number };

export interface ReadlineLinesOptions {
  cols: number;
  rows: number;
  /**
   * A window closed on the normal screen: `line` settles once the emulator has read it (null:
   * nothing ran). Output after it (onOutside) belongs to it until the next window opens.
   * `continuation`: it was the next line of an unfinished command (PS2), to be joined to it.
   */
  onClose: (line: Promise<AcceptedLine | null>, at: Date, continuation: boolean) => void;
  /** Output outside windows (what commands print), for excerpts. */
  onOutside: (data: Buffer) => void;
  /**
   * A window opened and showed its prompt: what was printed before belongs to the previous
   * line; with `continuation` (PS2) the previous line is not finished yet.
   */
  onWindow: (continuation: boolean) => void;
  onError: (err: unknown) => void;
}

interface Window {
  /** The output before it on the same row. */
  prefix: Buffer;
  bytes: Buffer[];
  size: number;
  /** Bytes received before the first key typed in the window: the prompt (when > 0). */
  promptBytes: number;
  keys: Buffer[];
  keyBytes: number;
  /** Keys arrived before any output of the window (typed ahead): the prompt cannot be told apart. */
  typedAhead: boolean;
  /** Known once its prompt shows: PS1 (a new line) or PS2 (the next line of an unfinished one). */
  kind: 'unknown' | 'line' | 'continuation';
}

const CSI_PRIVATE = Buffer.from('\x1b[?');

export class ReadlineLines {
  #cols: number;
  #rows: number;
  readonly #opts: ReadlineLinesOptions;
  #window: Window | null = null;
  #alt = false;
  /** The start of a `ESC [ ?` sequence cut off at the end of the last chunk. */
  #carry: Buffer | null = null;
  /** Output since the last newline (bounded). */
  #prefix: Buffer = Buffer.alloc(0);
  /** How many windows were opened on the normal screen: 0 means this is no readline shell (yet). */
  windows = 0;
  /** Keys sent since the last window closed, before any output of the next one. */
  #keysBefore = false;
  #lastPrompt: string | null = null;
  /**
   * A line was accepted and nothing visible was printed since: only then can the next prompt be
   * PS2 (bash shows it at once; a prompt of `> ` after a command's output is PS1).
   */
  #acceptedClean = false;
  #term: XTerminal | null = null;
  #linger: NodeJS.Timeout | null = null;
  /** Reads in progress, in order: each accepted window waits for the emulator. */
  #queue: Promise<void> = Promise.resolve();
  #disposed = false;

  constructor(opts: ReadlineLinesOptions) {
    this.#cols = opts.cols;
    this.#rows = opts.rows;
    this.#opts = opts;
  }

  /** Whether a readline window is open now (a line is being edited at a shell prompt). */
  get open(): boolean {
    return this.#window !== null;
  }

  /** Whether the open window continues an unfinished command (PS2). */
  get continuing(): boolean {
    return this.#window?.kind === 'continuation';
  }

  resize(cols: number, rows: number): void {
    this.#cols = cols;
    this.#rows = rows;
  }

  input(data: Buffer): void {
    const w = this.#window;
    if (!w) {
      this.#keysBefore = true;
      return;
    }
    this.#classify(w, true);
    if (w.promptBytes < 0) w.promptBytes = w.size;
    if (w.keyBytes >= MAX_WINDOW_KEYS) return;
    const part = data.subarray(0, MAX_WINDOW_KEYS - w.keyBytes);
    w.keys.push(Buffer.from(part));
    w.keyBytes += part.length;
  }

  output(chunk: Buffer): void {
    let data = chunk;
    if (this.#carry) {
      data = Buffer.concat([this.#carry, chunk]);
      this.#carry = null;
    }
    let from = 0;
    let i = data.indexOf(CSI_PRIVATE);
    while (i >= 0) {
      let j = i + 3;
      while (j < data.length && ((data[j]! >= 0x30 && data[j]! <= 0x39) || data[j] === 0x3b)) j++;
      if (j >= data.length) {
        // Cut off: keep it for the next chunk (it is short, or it is no sequence of ours).
        if (j - i < 24) {
          this.#segment(data.subarray(from, i));
          this.#carry = Buffer.from(data.subarray(i));
          return;
        }
        break;
      }
      const final = data[j];
      if (final === 0x68 || final === 0x6c) {
        const on = final === 0x68;
        const modes = data.toString('latin1', i + 3, j).split(';');
        const end = j + 1;
        if (modes.includes('2004')) {
          // The sequence itself is not part of either side.
          this.#segment(data.subarray(from, i));
          from = end;
          if (on) this.#openWindow();
          else this.#closeWindow();
        }
        if (modes.some((m) => m === '1049' || m === '1047' || m === '47')) {
          this.#segment(data.subarray(from, end));
          from = end;
          this.#alt = on;
          // A full-screen program started from a line that was still open is no line.
          if (on) this.#window = null;
        }
      }
      i = data.indexOf(CSI_PRIVATE, j);
    }
    this.#segment(data.subarray(from));
  }

  /** Waits until every accepted window has been read and reported; frees the emulator. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    this.#window = null;
    if (this.#linger) clearTimeout(this.#linger);
    await this.#queue;
    this.#term?.dispose();
    this.#term = null;
  }

  #segment(data: Buffer): void {
    if (data.length === 0) return;
    const w = this.#window;
    if (w) {
      if (w.size + data.length > MAX_WINDOW_BYTES) {
        this.#window = null; // not a line being edited
        return;
      }
      w.bytes.push(Buffer.from(data));
      w.size += data.length;
      this.#classify(w, false);
    } else {
      this.#opts.onOutside(data);
      this.#trackPrefix(data);
      if (this.#acceptedClean && hasVisible(data)) this.#acceptedClean = false;
    }
  }

  #trackPrefix(data: Buffer): void {
    const nl = data.lastIndexOf(0x0a);
    const rest = nl >= 0 ? data.subarray(nl + 1) : data;
    // Bulk output without newlines: only its end can matter, copy no more than that.
    const joined = nl >= 0 || rest.length >= MAX_PREFIX_BYTES ? rest : Buffer.concat([this.#prefix, rest]);
    this.#prefix = Buffer.from(joined.length > MAX_PREFIX_BYTES ? joined.subarray(joined.length - MAX_PREFIX_BYTES) : joined);
  }

  #openWindow(): void {
    if (this.#alt) return;
    this.windows++;
    this.#window = { prefix: this.#prefix, bytes: [], size: 0, promptBytes: -1, keys: [], keyBytes: 0, typedAhead: this.#keysBefore, kind: 'unknown' };
    this.#keysBefore = false;
  }

  /** Tells PS2 from PS1 by the window's first visible characters (`force`: on what came so far). */
  #classify(w: Window, force: boolean): void {
    if (w.kind !== 'unknown') return;
    const visible = Buffer.concat(w.bytes).toString('utf8').replace(ESCAPES, '').replace(/[\x00-\x1f]/g, '');
    if (visible.length < CONTINUATION.length && !force) return;
    const ps1IsPs2 = this.#lastPrompt === CONTINUATION;
    w.kind = visible.startsWith(CONTINUATION) && !ps1IsPs2 && this.#acceptedClean ? 'continuation' : 'line';
    this.#opts.onWindow(w.kind === 'continuation');
  }

  #closeWindow(): void {
    const w = this.#window;
    this.#window = null;
    this.#prefix = Buffer.alloc(0);
    if (!w || this.#alt) return;
    this.#classify(w, true);
    const at = new Date();
    const bytes = Buffer.concat(w.bytes);
    // What the window shows after its last newline: only control bytes means readline moved on.
    const accepted = endsWithNewline(bytes);
    this.#acceptedClean = accepted;
    const keys = Buffer.concat(w.keys);
    if (!accepted && (keys.includes(0x03) || keys.includes(0x04))) return; // Ctrl-C, Ctrl-D
    const line = this.#queue.then(() => this.#read(w, bytes, accepted, keys)).catch((err: unknown) => {
      this.#opts.onError(err);
      return null;
    });
    this.#queue = line.then(() => undefined);
    this.#opts.onClose(line, at, w.kind === 'continuation');
  }

  async #read(w: Window, bytes: Buffer, accepted: boolean, keys: Buffer): Promise<AcceptedLine | null> {
    const term = this.#emulator();
    await write(term, '\x1bc');
    await write(term, w.prefix);
    const start = cursor(term);
    let prompt: string | null = null;
    if (!w.typedAhead && w.promptBytes > 0) {
      await write(term, bytes.subarray(0, w.promptBytes));
      prompt = readRows(term, start, cursor(term));
      await write(term, bytes.subarray(w.promptBytes));
    } else {
      await write(term, bytes);
    }
    if (w.kind === 'continuation') prompt = CONTINUATION;
    // A question (`read -e -p "Name: "`): the answer is no command.
    else if (prompt && QUESTION_TAIL.test(prompt) && !PROMPT_TAIL.test(prompt)) {
      this.#release();
      return null;
    }
    // A line pre-filled by the shell (Ctrl-O's next line) comes with the prompt: not a prompt.
    else if (prompt && PROMPT_TAIL.test(prompt)) this.#lastPrompt = prompt;
    else prompt = this.#lastPrompt;
    const end = cursor(term);
    // Accepted: the line ends on the row above the cursor. Not accepted: on the cursor's row.
    const endRow = accepted ? end.row - 1 : end.row;
    const text = lineText(term, start, endRow, prompt);
    this.#release();
    if (text === null) return null;
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
    if (accepted) return lines.length > 0 ? { kind: 'lines', lines } : null;
    if (lines.length > 0) return null; // left on screen without a newline: it did not run
    const typed = typedLength(keys);
    return typed > 0 ? { kind: 'notEchoed', length: typed } : null;
  }

  #emulator(): XTerminal {
    if (this.#linger) {
      clearTimeout(this.#linger);
      this.#linger = null;
    }
    if (this.#term && (this.#term.cols !== this.#cols || this.#term.rows !== this.#rows)) this.#term.resize(this.#cols, this.#rows);
    this.#term ??= new (headlessTerminal())({ cols: this.#cols, rows: this.#rows, scrollback: SCROLLBACK_ROWS, allowProposedApi: true, logLevel: 'off' });
    return this.#term;
  }

  /** Keeps the emulator a while for the next line, then frees it. */
  #release(): void {
    if (this.#disposed) return;
    this.#linger = setTimeout(() => {
      this.#linger = null;
      const term = this.#term;
      this.#term = null;
      void this.#queue.then(() => term?.dispose());
    }, TERMINAL_LINGER_MS).unref();
  }
}

function write(term: XTerminal, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve) => term.write(data, resolve));
}

interface Pos {
  row: number;
  col: number;
}

function cursor(term: XTerminal): Pos {
  const b = term.buffer.active;
  return { row: b.baseY + b.cursorY, col: b.cursorX };
}

function hasVisible(data: Buffer): boolean {
  return /[^\x00-\x20]/.test(data.toString('latin1').replace(ESCAPES, ''));
}

/** Whether nothing but control bytes and escape sequences follow the last newline. */
function endsWithNewline(bytes: Buffer): boolean {
  const nl = bytes.lastIndexOf(0x0a);
  if (nl < 0) return false;
  const rest = bytes.toString('latin1', nl + 1).replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b[^[]/g, '');
  return !/[^\x00-\x1f]/.test(rest);
}

/** The text between two screen positions: wrapped rows joined, other rows joined by newlines. */
function readRows(term: XTerminal, from: Pos, to: Pos): string {
  const b = term.buffer.active;
  let text = '';
  for (let r = from.row; r <= to.row; r++) {
    const line = b.getLine(r);
    if (!line) break;
    const startCol = r === from.row ? from.col : 0;
    if (r === to.row) text += line.translateToString(false, startCol, to.col);
    else text += line.translateToString(!b.getLine(r + 1)?.isWrapped, startCol) + (b.getLine(r + 1)?.isWrapped ? '' : '\n');
  }
  return text;
}

/**
 * The line readline shows, without its prompt: from the last row that starts with the prompt
 * (a redraw, Ctrl-L, may have moved it), else from where the window began, to `endRow`.
 * null when the screen no longer holds it.
 */
function lineText(term: XTerminal, start: Pos, endRow: number, prompt: string | null): string | null {
  const b = term.buffer.active;
  if (endRow < 0 || !b.getLine(endRow)) return null;
  let from: Pos = start.row <= endRow ? start : { row: Math.max(0, b.baseY), col: 0 };
  const first = prompt?.split('\n')[0];
  if (first && first.trim()) {
    const lowest = Math.max(0, endRow - SCROLLBACK_ROWS);
    for (let r = endRow; r >= lowest; r--) {
      const row = b.getLine(r)?.translateToString(true) ?? '';
      if (row.startsWith(first) || (r === start.row && row.slice(start.col).startsWith(first))) {
        from = { row: r, col: row.startsWith(first) ? 0 : start.col };
        break;
      }
    }
  }
  const last = b.getLine(endRow)!;
  const text = readRows(term, from, { row: endRow, col: last.translateToString(true).length });
  if (prompt && text.startsWith(prompt)) return text.slice(prompt.length);
  if (prompt && prompt.trimEnd() === text.trimEnd()) return '';
  const m = PROMPT_END.exec(text);
  return m ? text.slice(m[0].length) : text;
}

/** The length of the first line in keys (printable characters, edits applied), up to its Enter. */
function typedLength(keys: Buffer): number {
  let out = '';
  const s = keys.toString('utf8').replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1bO.|\x1b./g, '');
  for (const ch of s) {
    if (acceptsLine(ch.charCodeAt(0))) break;
    if (ch === '\x7f' || ch === '\b') out = out.slice(0, -1);
    else if (ch === '\x15') out = '';
    else if (ch >= ' ') out += ch;
  }
  return [...out.trim()].length;
}
