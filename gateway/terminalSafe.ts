// The one sanitizer for text the gateway prints on an operator's terminal that it did not
// write itself: asset, node, system-user, filter and user names, error messages (DESIGN
// rule 13). A name is admin-controlled data, and a terminal obeys what it reads: a title
// (OSC 0/2), a clipboard write (OSC 52), a screen clear (CSI 2J) or a device-control
// string (DCS) inside a name would act on the operator's machine. So every escape
// sequence is removed whole (its payload too), then every remaining control character.

/**
 * String-type sequences (ESC ] OSC, ESC P DCS, ESC X SOS, ESC ^ PM, ESC _ APC, or their
 * one-byte C1 forms): the payload runs to the string terminator (BEL, ESC \ or 0x9c) or,
 * when it never comes, to the next ESC or the end of the text — a terminal would swallow it
 * just the same.
 */
const STRING_SEQUENCE = /(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c|(?=\x1b)|$)/g;
/** CSI (ESC [ or 0x9b): parameter and intermediate bytes, then one final byte. */
const CSI_SEQUENCE = /(?:\x1b\[|\x9b)[\x20-\x3f]*[\x40-\x7e]?/g;
/** Other escapes: ESC, intermediate bytes, one final byte (ESC c reset, ESC ( B charset, ESC 7…); or a bare ESC. */
const OTHER_ESCAPE = /\x1b[\x20-\x2f]*[\x30-\x7e]?/g;
/**
 * What is left that a terminal would act on: C0 controls (BEL, BS, CR, LF…), DEL, C1
 * controls, and the Unicode bidirectional overrides and isolates, which reorder what the
 * operator reads ("web01" shown for a name that is not).
 */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every escape sequence and control character removed. */
export function terminalSafe(text: string): string {
  return text.replace(STRING_SEQUENCE, '').replace(CSI_SEQUENCE, '').replace(OTHER_ESCAPE, '').replace(CONTROLS, '');
}

/**
 * One line of text for the terminal: sanitized (a newline or tab inside becomes a space
 * first, so words stay apart), trimmed and cut to `max` characters.
 */
export function terminalLineOf(text: string, max = 500): string {
  const safe = terminalSafe(text.replace(/[\t\n\r\v\f]+/g, ' ')).replace(/ {2,}/g, ' ').trim();
  return safe.length > max ? `${safe.slice(0, max)}…` : safe;
}
