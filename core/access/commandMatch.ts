import type { CommandFilter } from '../db/entities/index.ts';

/** Longest pattern we compile; JavaScript regexes have no time bound, so size is the guard. */
export const MAX_PATTERN = 1000;

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A matcher for one filter. `commands`: one command per line or comma (e.g. `rm -rf`,
 * `shutdown`), matched as a whole word at the start of any simple command in the line,
 * also behind `sudo`, a path (`/sbin/shutdown`) or a pipe. `regex`: the pattern as given.
 */
export function compileFilter(f: Pick<CommandFilter, 'kind' | 'pattern'>): RegExp {
  if (f.kind === 'regex') return new RegExp(f.pattern, 'm');
  const entries = f.pattern.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) return /(?!)/;
  const alternatives = entries.map((e) => e.split(/\s+/).map(escape).join('\\s+')).join('|');
  return new RegExp(`(?:^|[;&|({\`]|\\$\\()\\s*(?:(?:sudo|exec|command|nohup|time|env)(?:\\s+-\\S+(?:\\s+[^-\\s]\\S*)?)*\\s+)*(?:\\S*/)?(?:${alternatives})(?=$|[\\s;&|)}\`])`, 'm');
}

export function checkPattern(kind: CommandFilter['kind'], pattern: string): string | null {
  if (pattern.length > MAX_PATTERN) return `the pattern may hold at most ${MAX_PATTERN} characters`;
  try {
    compileFilter({ kind, pattern });
    return null;
  } catch (e) {
    return `invalid regular expression: ${(e as Error).message}`;
  }
}
