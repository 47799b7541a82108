// A node:test reporter for scripts/test.sh: how long each test file's top-level tests took,
// slowest first, so that a suite growing slow is seen (the whole run should stay under 20
// minutes on the 2-core CI host). Hooks outside any test (a file's before/after) are not in it.
// Plain JavaScript: node loads reporters before `--import tsx` takes effect.
import path from 'node:path';

/** @param {AsyncIterable<{ type: string, data?: { nesting: number, file?: string, details?: { duration_ms?: number } } }>} source */
export default async function* fileTimes(source) {
  /** @type {Map<string, { ms: number, tests: number }>} */
  const perFile = new Map();
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const d = event.data;
    if (!d || d.nesting !== 0 || !d.file) continue;
    const file = path.relative(process.cwd(), d.file);
    const entry = perFile.get(file) ?? { ms: 0, tests: 0 };
    entry.ms += d.details?.duration_ms ?? 0;
    entry.tests++;
    perFile.set(file, entry);
  }
  const rows = [...perFile].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((s, [, e]) => s + e.ms, 0);
  yield `seconds in top-level tests per file, slowest first (total ${(total / 1000).toFixed(0)} s)\n`;
  for (const [file, e] of rows) yield `${(e.ms / 1000).toFixed(1).padStart(7)}  ${file} (${e.tests})\n`;
}
