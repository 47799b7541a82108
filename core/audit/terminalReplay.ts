import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Terminal } from '@xterm/headless';
import { boundedSize } from '../terminalSize.ts';
import { headlessTerminal, serializeAddon } from '../xtermHeadless.ts';


type HeadlessTerminal = Terminal;

/** The header line of an asciicast v2 recording (only what replay needs). */
export interface CastHeader {
  cols: number;
  rows: number;
}

/** One event line: time in seconds as written, code, data; `line` is the line as read (valid JSON). */
export interface CastLine {
  t: number;
  code: string;
  data: string;
  line: string;
}

/** A terminal screen: its size and the escape sequences that redraw it in a fresh terminal. */
export interface TerminalSnapshot {
  cols: number;
  rows: number;
  init: string;
}

const DEFAULT = { cols: 80, rows: 24 };

/**
 * Reads an asciicast v2 file (or .gz) line by line: the header first (unless `headerless`), then its events. Torn or
 * foreign lines are skipped; a file that ends mid-line (still being written) ends the events.
 */
export async function* readCast(source: string | Readable, opts: { headerless?: boolean } = {}): AsyncGenerator<CastHeader | CastLine> {
  const input = typeof source === 'string' ? createReadStream(source) : source;
  const gz = typeof source === 'string' && source.endsWith('.gz');
  const lines = createInterface({ input: gz ? input.pipe(createGunzip()) : input, crlfDelay: Infinity });
  // Headerless: events from the middle of a recording (the live view continuing from a screen it has).
  let first = !opts.headerless;
  try {
    for await (const line of lines) {
      if (first) {
        first = false;
        let h: { width?: unknown; height?: unknown } = {};
        try { h = JSON.parse(line) as typeof h; } catch { /* a broken header: default size */ }
        // A recording's size is bounded like a live one: the file may come from anywhere.
        yield boundedSize(h.width, h.height, DEFAULT);
        continue;
      }
      if (line[0] !== '[') continue;
      let ev: unknown;
      try { ev = JSON.parse(line); } catch { continue; }
      if (!Array.isArray(ev) || typeof ev[0] !== 'number' || !Number.isFinite(ev[0]) || typeof ev[1] !== 'string' || typeof ev[2] !== 'string') continue;
      yield { t: ev[0], code: ev[1], data: ev[2], line };
    }
  } catch {
    // A recording being written (or truncated) can end anywhere: what was read stands.
  } finally {
    lines.close();
    input.destroy();
  }
}

/** A resize event's data, `COLSxROWS` (each cut to the maximum terminal size), or null. */
export function parseSize(data: string): { cols: number; rows: number } | null {
  const m = /^(\d{1,9})x(\d{1,9})$/.exec(data);
  if (!m) return null;
  const cols = Number(m[1]);
  const rows = Number(m[2]);
  return cols > 0 && rows > 0 ? boundedSize(cols, rows) : null;
}

interface XtermInternals {
  _core?: {
    buffer?: { scrollTop?: number; scrollBottom?: number };
    coreService?: { isCursorHidden?: boolean };
  };
}

/**
 * A headless terminal fed with a recording's output, which can say at any moment what its
 * screen is, as escape sequences a fresh terminal turns into the same screen (xterm's
 * serializer plus the state it leaves out: scroll region, hidden cursor, modes in the
 * right order). Writes are queued and parsed in batches; only snapshots and resizes wait,
 * so one pass over a 50 MiB recording takes about a second, not a timer tick per event.
 */
export class TerminalReplay {
  readonly #term: HeadlessTerminal;
  readonly #addon = new (serializeAddon())();

  constructor(cols: number, rows: number) {
    // Recordings hold whatever the session printed, binary too: a bad byte is not worth a console dump.
    this.#term = new (headlessTerminal())({ ...boundedSize(cols, rows), scrollback: 0, allowProposedApi: true, logLevel: 'off' });
    this.#term.loadAddon(this.#addon as never);
  }

  get cols(): number { return this.#term.cols; }
  get rows(): number { return this.#term.rows; }

  write(data: string): void {
    this.#term.write(data);
  }

  /** Resolves once everything written so far has been parsed. */
  flush(): Promise<void> {
    return new Promise((resolve) => this.#term.write('', resolve));
  }

  async resize(cols: number, rows: number): Promise<void> {
    await this.flush();
    const size = boundedSize(cols, rows, { cols: this.#term.cols, rows: this.#term.rows });
    this.#term.resize(size.cols, size.rows);
  }

  /** The screen now (everything written so far). */
  async snapshot(): Promise<TerminalSnapshot> {
    await this.flush();
    return { cols: this.#term.cols, rows: this.#term.rows, init: this.#serialize() };
  }

  dispose(): void {
    this.#term.dispose();
  }

  #serialize(): string {
    const term = this.#term;
    let out = this.#addon.serialize({ scrollback: 0, excludeModes: true });
    const core = (term as unknown as XtermInternals)._core;
    const buf = term.buffer.active;
    const top = core?.buffer?.scrollTop ?? 0;
    const bottom = core?.buffer?.scrollBottom ?? term.rows - 1;
    const modes = term.modes;
    const cup = (row: number) => `\x1b[${row + 1};${Math.min(buf.cursorX, term.cols - 1) + 1}H`;
    // DECSTBM homes the cursor: put it back where it was.
    if (top !== 0 || bottom !== term.rows - 1) out += `\x1b[${top + 1};${bottom + 1}r${cup(buf.cursorY)}`;
    // DECOM homes the cursor too, and makes CUP relative to the scroll region.
    if (modes.originMode) out += `\x1b[?6h${cup(buf.cursorY - top)}`;
    if (modes.applicationCursorKeysMode) out += '\x1b[?1h';
    if (modes.applicationKeypadMode) out += '\x1b[?66h';
    if (modes.bracketedPasteMode) out += '\x1b[?2004h';
    if (modes.insertMode) out += '\x1b[4h';
    if (modes.reverseWraparoundMode) out += '\x1b[?45h';
    if (modes.wraparoundMode === false) out += '\x1b[?7l';
    if (core?.coreService?.isCursorHidden) out += '\x1b[?25l';
    return out;
  }
}

/** The screen a terminal shows after `init` is written to it fresh, serialized (tests compare screens with it). */
export async function screenOf(snapshot: TerminalSnapshot, more: string[] = []): Promise<string> {
  const replay = new TerminalReplay(snapshot.cols, snapshot.rows);
  replay.write(snapshot.init);
  for (const d of more) replay.write(d);
  const s = await replay.snapshot();
  replay.dispose();
  return s.init;
}
