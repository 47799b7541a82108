// How big a terminal may be, wherever a size is taken: the operator's pty-req and
// window-change, the backend PTY, the recording's header and "r" events, live view and
// replay (DESIGN rule 13). A client that claims 9999×9999 would otherwise make every
// terminal emulator that replays the session (segment worker, live view) allocate ~100
// million cells. Real screens stay far below: 1000 columns is a 4K display in a 4-pixel font.
export const MAX_COLS = 1000;
export const MAX_ROWS = 1000;

export interface TerminalSize {
  cols: number;
  rows: number;
}

/** One dimension within 1…max; `fallback` for what is not a positive integer. */
function bound(n: unknown, max: number, fallback: number): number {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 1) return fallback;
  return Math.min(Math.floor(n), max);
}

/** The size as it may be used: each dimension cut to the maximum, nonsense replaced by `fallback`'s. */
export function boundedSize(cols: unknown, rows: unknown, fallback: TerminalSize = { cols: 80, rows: 24 }): TerminalSize {
  return { cols: bound(cols, MAX_COLS, fallback.cols), rows: bound(rows, MAX_ROWS, fallback.rows) };
}
