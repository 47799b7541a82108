// Keystrokes for a live viewer who asked for them — but only those the terminal echoed.
// The gateway cannot see the backend's termios, so it judges by the screen: typed text is
// held until the output shows it; text the output does not show (a password at a `sudo`,
// `ssh` or `read -s` prompt, typed with echo off) is dropped, never published. Keys that
// print nothing themselves (Enter, arrows, Ctrl-C) go with the text they follow, or alone.
const ESCAPES = /\x1b(?:\[[\x20-\x3f]*[\x40-\x7e]?|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[\x20-\x2f]*[\x30-\x7e]?)/g;
const CONTROLS = /[\u0000-\u001f\u007f]/g;
/** Held text beyond this is dropped: nobody types that much without seeing it. */
const MAX_HELD = 1024;

export class EchoedInput {
  /** Input not yet shown by the output. */
  #held = '';
  /** Printable output seen since the held input was typed. */
  #seen = '';

  /** Operator input; returns what may be published now. */
  input(text: string): string[] {
    if (this.#held === '' && printable(text) === '') return [text];
    this.#held += text;
    if (this.#held.length > MAX_HELD) this.#drop();
    return [];
  }

  /** Backend output; returns held input that the output (so far) shows was echoed. */
  output(text: string): string[] {
    if (this.#held === '') return [];
    this.#seen = (this.#seen + printable(text)).slice(-2 * MAX_HELD);
    const typed = printable(this.#held);
    if (this.#seen.includes(typed)) {
      const out = this.#held;
      this.#drop();
      return [out];
    }
    // The echo of a paste may come in pieces: wait while the output ends with the start of
    // what was typed (or showed nothing printable yet); anything else means no echo.
    if (this.#seen === '' || endsWithStartOf(this.#seen, typed)) return [];
    this.#drop();
    return [];
  }

  #drop(): void {
    this.#held = '';
    this.#seen = '';
  }
}

/** Whether some non-empty end of `text` is a start of `prefix`. */
function endsWithStartOf(text: string, prefix: string): boolean {
  for (let k = Math.min(text.length, prefix.length); k > 0; k--) if (prefix.startsWith(text.slice(-k))) return true;
  return false;
}

function printable(text: string): string {
  return text.replace(ESCAPES, '').replace(CONTROLS, '');
}
