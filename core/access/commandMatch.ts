// How one command filter's pattern meets a command line. Every pattern, ours and the
// admin's, is compiled by RE2 (re2js: pure JavaScript, no native build), which matches in
// time linear in the line and the pattern, whatever either holds (DESIGN rule 13). A
// backtracking JavaScript RegExp stalled the whole process for seconds on a 551-character
// `sudo -u x env -i time …` line; RE2 decides a 100 KiB line in well under 5 ms
// (`npm run bench -- filters`). The price: RE2 has no backreferences and no lookaround, so a
// regex filter using them is refused when it is created or changed (checkPattern).
// RE2 stays fast only while its lazy DFA fits its cache: a pattern whose automaton outgrows it
// (e.g. `a[ab;]{200}[ab]{5}$`) falls back to the NFA, linear but ~1 s per 100 KiB. So every
// pattern's whole automaton is built once at compile time (dfaFits) and refused if it does not
// fit: a pattern that is accepted is then matched by the DFA alone, whatever the line holds.
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

/**
 * re2js's lazy DFA cache (its default, bytes, counted as re2js counts them). A pattern whose
 * whole DFA fits is never matched by the NFA; the bound is the engine's own, so it predicts
 * the cost exactly rather than guessing it from the pattern's text (`{n}` bounds, its size).
 */
const DFA_MEMORY = 8 * 1024 * 1024;

/** The parts of re2js's (unexported) DFA that dfaFits drives; checked at run time, see dfaFits. */
interface LazyDfaState { next: Array<LazyDfaState | null> | null }
interface LazyDfa {
  prog: { start: number };
  memBudget: number;
  numClasses: number;
  classBounds: Int32Array;
  runeClass(r: number): number;
  makeState(pcs: number[], flag: number, ids: number[]): LazyDfaState | null;
  step(s: LazyDfaState, cls: number, rune: number, anchor: number): LazyDfaState | null;
}

/** Thrown by compileFilter for a pattern whose automaton outgrows RE2's DFA cache. */
export class PatternTooCostly extends Error {}

/**
 * Whether the whole DFA of a compiled pattern (unanchored search, as `test` runs it) fits the
 * lazy DFA's cache: every state reachable from the four start contexts (text start, line
 * start, after a word character, other) on one rune of each class re2js distinguishes (split
 * further by word/non-word and newline, which the DFA also tells apart), and end of text.
 * Building it stops as soon as it outgrows the cache, so this costs at most what one worst line
 * would.
 */
function dfaFits(re: RE2JS): boolean {
  const engine = (re as unknown as { re2Input: { dfa: LazyDfa; lazyDFA: LazyDfa | null } }).re2Input;
  const probe = engine.dfa;
  const Dfa = probe.constructor as new (prog: LazyDfa['prog'], maxMem: number) => LazyDfa;
  // re2js internals: if a new version renames them, refuse every pattern (fail closed) rather than guess.
  if (typeof probe.makeState !== 'function' || typeof probe.step !== 'function' || !(probe.classBounds instanceof Int32Array)) return false;
  const unlimited = 2 ** 30;
  const dfa = new Dfa(probe.prog, unlimited);
  const runes: Array<[number, number]> = [];
  const kinds = new Set<string>();
  for (let r = 0; r <= 0xff; r++) {
    const key = `${dfa.runeClass(r)} ${/\w/.test(String.fromCharCode(r))} ${r === 10}`;
    if (!kinds.has(key)) { kinds.add(key); runes.push([dfa.runeClass(r), r]); }
  }
  for (const r of dfa.classBounds) if (r > 0xff && r <= 0x10ffff) runes.push([dfa.runeClass(r), r]);
  // Start contexts: text and line start (EMPTY_BEGIN_TEXT | EMPTY_BEGIN_LINE), line start, after a word rune (FLAG_LAST_WORD), none.
  const seen = new Set<LazyDfaState>();
  const todo: LazyDfaState[] = [];
  const visit = (s: LazyDfaState | null): boolean => {
    if (s === null) return false;
    if (!seen.has(s)) { seen.add(s); todo.push(s); }
    return unlimited - dfa.memBudget <= DFA_MEMORY;
  };
  for (const flag of [5, 1, 512, 0]) if (!visit(dfa.makeState([dfa.prog.start], flag, []))) return false;
  for (let s = todo.pop(); s !== undefined; s = todo.pop()) {
    for (const [cls, rune] of runes) {
      // A class may hold runes the DFA still tells apart (word or not, newline): step each afresh.
      if (s.next) s.next[cls] = null;
      if (!visit(dfa.step(s, cls, rune, 0))) return false;
    }
    if (!visit(dfa.step(s, dfa.numClasses, -1, 0))) return false; // end of text
  }
  // The automaton just built is the one matching will use: no line pays for building it (a cold
  // one cost up to ~140 ms on the first 100 KiB line). Its budget is unlimited but it is complete.
  engine.lazyDFA = dfa;
  return true;
}

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
 * Throws RE2's syntax error for a pattern it cannot compile, PatternTooCostly for one it could
 * not match in time (dfaFits); checkPattern explains both.
 */
export function compileFilter(f: Pick<CommandFilter, 'kind' | 'pattern'>): CommandMatcher {
  const source = f.kind === 'regex' ? f.pattern : commandListSource(f.pattern);
  if (source === null) return NEVER;
  const re = RE2JS.compile(source, RE2JS.MULTILINE);
  if (!dfaFits(re)) throw new PatternTooCostly('automaton too large');
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

/** What is wrong with a pattern: a stable reason for clients and a message for people. */
export interface PatternProblem { reason: 'pattern_too_long' | 'pattern_too_costly' | 'pattern_invalid'; message: string; max?: number }

/** Null when the pattern can be used; otherwise what is wrong with it. */
export function checkPattern(kind: CommandFilter['kind'], pattern: string): PatternProblem | null {
  if (pattern.length > MAX_PATTERN) return { reason: 'pattern_too_long', max: MAX_PATTERN, message: `the pattern may hold at most ${MAX_PATTERN} characters` };
  try {
    compileFilter({ kind, pattern });
    return null;
  } catch (e) {
    if (e instanceof PatternTooCostly) {
      return { reason: 'pattern_too_costly', message: 'the pattern is too costly to match: its automaton is too large (typically large counted repetitions such as {50} of overlapping classes after an unanchored start); use a shorter repeat or anchor it' };
    }
    return { reason: 'pattern_invalid', message: explain(pattern, (e as Error).message) };
  }
}
