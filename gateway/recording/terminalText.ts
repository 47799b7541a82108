// Plain text from raw terminal output, for command output excerpts: escape sequences
// removed, carriage-return overwrites resolved, other control characters dropped.

// CSI, OSC (ended by BEL or ST), DCS/SOS/PM/APC strings, charset designations, and the
// remaining two-byte escapes.
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b[()*+\-./][ -~]|\x1b[ -/]*[0-~]?|\x9b[0-?]*[ -/]*[@-~]/g;
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f]/g;

export function plainText(raw: string): string {
  const lines = raw.replace(ESCAPES, '').replace(/\r+\n/g, '\n').split('\n');
  // A lone CR returns to the line start: what follows overwrites what came before
  // (progress bars). Keep the visible result, approximately: the last overwrite wins
  // where it is longer, else it covers the start of the older text.
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.includes('\r')) {
      lines[i] = line.replace(CONTROLS, '');
      continue;
    }
    let visible = '';
    for (const part of line.split('\r')) {
      const clean = part.replace(CONTROLS, '');
      visible = clean.length >= visible.length ? clean : clean + visible.slice(clean.length);
    }
    lines[i] = visible;
  }
  return lines.join('\n');
}

/** Cuts text to at most `max` characters, at a line end when one is near. */
export function excerpt(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.lastIndexOf('\n', max);
  return text.slice(0, cut > max / 2 ? cut + 1 : max);
}
