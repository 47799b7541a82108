// The line being typed at one of the gateway's prompts, with a cursor: what each editing key
// does to it, and the bytes that make the operator's terminal show the result. Redrawing is
// done with backspaces, the edited tail and spaces (no cursor addressing), so it works on any
// terminal; wide (CJK) characters count two columns.

/** Columns a character takes on a terminal: 0 for combining marks, 2 for East Asian wide, else 1. */
export function columnsOf(ch: string): number {
  const cp = ch.codePointAt(0) ?? 0;
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) || (cp >= 0xac00 && cp <= 0xd7a3)
    || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6)
    || (cp >= 0x1f300 && cp <= 0x1f64f) || (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd)
  ) return 2;
  return 1;
}

const width = (chars: readonly string[]): number => chars.reduce((n, c) => n + columnsOf(c), 0);
const isSpace = (ch: string | undefined): boolean => ch === ' ' || ch === '\t';

export class LineEditor {
  #chars: string[] = [];
  #cursor = 0;

  /** `echo` false (a password): the line is edited the same, nothing is drawn. */
  constructor(private readonly echo: boolean, private readonly maxLength: number) {}

  get text(): string {
    return this.#chars.join('');
  }

  get cursor(): number {
    return this.#cursor;
  }

  get empty(): boolean {
    return this.#chars.length === 0;
  }

  /** Typed text goes in at the cursor. */
  insert(ch: string): string {
    if (this.text.length + ch.length > this.maxLength) return '';
    return this.#edit(this.#cursor, 0, [...ch], this.#cursor + [...ch].length);
  }

  /** Backspace: the character before the cursor. */
  backspace(): string {
    return this.#cursor === 0 ? '' : this.#edit(this.#cursor - 1, 1, [], this.#cursor - 1);
  }

  /** Delete (and Ctrl-D on a non-empty line): the character under the cursor. */
  deleteForward(): string {
    return this.#cursor >= this.#chars.length ? '' : this.#edit(this.#cursor, 1, [], this.#cursor);
  }

  left(): string {
    return this.#moveTo(this.#cursor - 1);
  }

  right(): string {
    return this.#moveTo(this.#cursor + 1);
  }

  home(): string {
    return this.#moveTo(0);
  }

  end(): string {
    return this.#moveTo(this.#chars.length);
  }

  /** Ctrl-K: from the cursor to the end. */
  killToEnd(): string {
    return this.#edit(this.#cursor, this.#chars.length - this.#cursor, [], this.#cursor);
  }

  /** Ctrl-U: from the start to the cursor. */
  killToStart(): string {
    return this.#edit(0, this.#cursor, [], 0);
  }

  /** Ctrl-W: the word before the cursor, with the blanks after it (readline's unix-word-rubout). */
  killWordBack(): string {
    let i = this.#cursor;
    while (i > 0 && isSpace(this.#chars[i - 1])) i--;
    while (i > 0 && !isSpace(this.#chars[i - 1])) i--;
    return this.#edit(i, this.#cursor - i, [], i);
  }

  /** The whole line replaced (a history entry), the cursor at its end. */
  replace(text: string): string {
    const chars = [...text].slice(0, this.maxLength);
    return this.#edit(0, this.#chars.length, chars, chars.length);
  }

  #moveTo(to: number): string {
    const target = Math.max(0, Math.min(this.#chars.length, to));
    const from = this.#cursor;
    this.#cursor = target;
    if (!this.echo || target === from) return '';
    // Left by backspaces; right by writing the characters passed over again.
    return target < from ? '\b'.repeat(width(this.#chars.slice(target, from))) : this.#chars.slice(from, target).join('');
  }

  /** Replaces `count` characters at `start` with `insert`; the cursor ends at `cursor`. */
  #edit(start: number, count: number, insert: string[], cursor: number): string {
    const before = this.#chars;
    const oldTail = width(before.slice(start));
    const after = [...before.slice(0, start), ...insert, ...before.slice(start + count)];
    const from = this.#cursor;
    this.#chars = after;
    this.#cursor = cursor;
    if (!this.echo) return '';
    let out = '';
    // To `start`: back over what lies between, or forward by writing it again.
    if (start < from) out += '\b'.repeat(width(before.slice(start, from)));
    else if (start > from) out += before.slice(from, start).join('');
    const tail = after.slice(start);
    const newTail = width(tail);
    const pad = Math.max(0, oldTail - newTail);
    out += tail.join('') + ' '.repeat(pad);
    out += '\b'.repeat(newTail + pad - width(after.slice(start, cursor)));
    return out;
  }
}
