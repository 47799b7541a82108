// How one command filter's pattern meets a command line. Every pattern, ours and the
// admin's, is compiled by RE2 (re2js: pure JavaScript, no native build), which matches in
// time linear in the line and the pattern, whatever either holds (DESIGN rule 13). A
// backtracking JavaScript RegExp stalled the whole process for seconds on a 551-character
// `sudo -u x env -i time …` line; RE2 decides a 100 KiB line in well under 5 ms
// (`npm run bench -- filters`). The price: RE2 has no backreferences and no lookaround, so a
// regex filter using them is refused when it is created or changed (checkPattern).
import { RE2JS } from 're2js';
import type { CommandFilter } from '../db/entities/index.ts';

/** Longest pattern we accept: RE2 is linear in the pattern too, but a filter is a line or a short list. */
export const MAX_PATTERN = 1000;

/** A compiled filter pattern; `test` mirrors RegExp.prototype.test (a match anywhere in the line). */
export interface CommandMatcher {
  test(line: string): boolean;
}

/**
 * JavaScript's `\s` and `\S`, spelled out for RE2 (whose `\s` is ASCII only), so that a command
 * list means exactly what it meant when it was a JavaScript RegExp.
 */
const SPACE_CHARS = String.raw`\t\n\x{0b}\f\r \x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{feff}`;
const SP = `[${SPACE_CHARS}]`;
const NSP = `[^${SPACE_CHARS}]`;
/** Line terminators after which JavaScript's multiline `^` matches; RE2's `^` knows only `\n`. */
const LINE_START_CHARS = String.raw`\r\x{2028}\x{2029}`;

const NEVER: CommandMatcher = { test: () => false };

/** Escapes RE2 metacharacters (the same set as JavaScript's, plus nothing else). */
function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The RE2 source for a command list: one command per line or comma (e.g. `rm -rf`,
 * `shutdown`), matched as a whole word at the start of any simple command in the line, also
 * behind `sudo`, `env`, `time`… (with their options), a path (`/sbin/shutdown`), a pipe, `;`,
 * `&&`, `(`, `{`, a backquote or `$(`.
 *
 * It used to end in the lookahead `(?=$|[\s;&|)}\`])`; RE2 has none, so the boundary character
 * is consumed instead. A filter only asks whether the line matches, never where, so consuming
 * the character after the word changes nothing.
 */
export function commandListSource(pattern: string): string | null {
  const entries = pattern.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) return null;
  const alternatives = entries.map((e) => e.split(/\s+/).map(escape).join(`${SP}+`)).join('|');
  const start = String.raw`(?:^|[;&|({\x60${LINE_START_CHARS}]|\$\()`;
  const wrapper = `(?:(?:sudo|exec|command|nohup|time|env)(?:${SP}+-${NSP}+(?:${SP}+[^-${SPACE_CHARS}]${NSP}*)?)*${SP}+)*`;
  const end = String.raw`(?:$|[${SPACE_CHARS};&|)}\x60])`;
  return `${start}${SP}*${wrapper}(?:${NSP}*/)?(?:${alternatives})${end}`;
}

/**
 * A matcher for one filter. `commands`: see commandListSource. `regex`: the admin's pattern in
 * RE2 syntax, multiline (`^`/`$` also at line breaks, as the JavaScript `m` flag did).
 * Throws RE2's syntax error for a pattern it cannot compile; checkPattern explains it.
 */
export function compileFilter(f: Pick<CommandFilter, 'kind' | 'pattern'>): CommandMatcher {
  const source = f.kind === 'regex' ? f.pattern : commandListSource(f.pattern);
  if (source === null) return NEVER;
  const re = RE2JS.compile(source, RE2JS.MULTILINE);
  return { test: (line) => re.test(line) };
}

/** Why RE2 refused a regex, in words an admin can act on. */
function explain(pattern: string, message: string): string {
  if (/\(\?<?[=!]/.test(pattern)) {
    return 'lookahead and lookbehind ((?=…), (?!…), (?<=…), (?<!…)) are not supported: filters are matched in linear time (RE2 syntax)';
  }
  if (/\\[1-9]|\\k</.test(pattern)) {
    return 'backreferences (\\1, \\k<name>) are not supported: filters are matched in linear time (RE2 syntax)';
  }
  // re2js quotes the pattern with the multiline flag it was given as `(?m)`: show the admin's own text.
  return `invalid regular expression (RE2 syntax): ${message.replace(/^error parsing regexp: /, '').replace('`(?m)', '`')}`;
}

/** Null when the pattern can be used; otherwise what is wrong with it (a validation message). */
export function checkPattern(kind: CommandFilter['kind'], pattern: string): string | null {
  if (pattern.length > MAX_PATTERN) return `the pattern may hold at most ${MAX_PATTERN} characters`;
  try {
    compileFilter({ kind, pattern });
    return null;
  } catch (e) {
    return explain(pattern, (e as Error).message);
  }
}
