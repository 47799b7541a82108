// The keys that make readline (bash, and most line editors) accept the line being edited and
// run it. The command guard holds each one until the line is checked, and the command recorder
// takes each one as "a line was submitted": both read them here, so they cannot disagree.
//
//   CR  (Enter, ^M)  accept-line
//   LF  (^J)         accept-line (also emacs "newline", vi-insert and vi-command ^J)
//   ^O               operate-and-get-next: runs the line and recalls the next history entry
//
// CR LF sent together (some clients, pastes) is one accept. Newlines inside a bracketed paste
// are accepts too: bash inserts them into the line and runs every pasted line at the next
// Enter, so each one is checked when it arrives, which can only be stricter.

export const CR = 0x0d;
export const LF = 0x0a;
export const CTRL_O = 0x0f;

/** Whether this byte makes readline accept the line. */
export function acceptsLine(byte: number): boolean {
  return byte === CR || byte === LF || byte === CTRL_O;
}

/** Index of the first accept key in data, or -1. */
export function indexOfAccept(data: Buffer): number {
  for (let i = 0; i < data.length; i++) if (acceptsLine(data[i]!)) return i;
  return -1;
}

/** How many bytes the accept at index i takes: CR LF is one accept. */
export function acceptLength(data: Buffer, i: number): number {
  return data[i] === CR && data[i + 1] === LF ? 2 : 1;
}
