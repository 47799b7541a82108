// A node:test reporter for scripts/test.sh: a suite that did not run is not a suite that
// passed. Every skip in this project means a missing part (no root, no sshd, no PostgreSQL),
// so a run that skipped tests has not tested what it claims: `npm test` (and .ci/run) fail
// when a test file ran no test, when a suite was skipped wholesale or all its tests were,
// and when any single test was skipped. BASTION_TEST_ALLOW_SKIP=1 turns these into warnings
// for a developer box that lacks a part. The files test.sh asked for come in
// BASTION_TEST_FILES (one per line), so a file that registered no test at all is caught too.
// Plain JavaScript: node loads reporters before `--import tsx` takes effect.
import path from 'node:path';

/** @typedef {{ ran: number, skipped: number }} Counts */
/** @typedef {{ name: string, nesting: number, file?: string, skip?: string | boolean, details?: { type?: string } }} TestEventData */

// Tests left out on purpose by --test-name-pattern / --test-only are not skips of the suite.
const DESELECTED = /^(test name does not match pattern|'only' option not set)$/;

/** @param {string | boolean | undefined} v */
const reason = (v) => (typeof v === 'string' && v ? v : 'no reason given');

/** @param {AsyncIterable<{ type: string, data?: TestEventData }>} source */
export default async function* skipGuard(source) {
  /** @type {Map<string, Counts>} */
  const perFile = new Map();
  /** @type {Set<string>} */
  const seen = new Set();
  /** @type {string[]} */
  const problems = [];
  // Counts of the tests finished at each nesting level since the last suite at the level above.
  /** @type {Counts[]} */
  let pending = [];
  let currentFile = '';

  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const d = event.data;
    if (!d) continue;
    const file = d.file ? path.relative(process.cwd(), d.file) : '(unknown file)';
    if (file !== currentFile) {
      currentFile = file;
      // A suite closing over tests of another file (a *.workers.test.ts wrapper) keeps their counts.
      const closesInner = d.details?.type === 'suite' && pending.length > d.nesting + 1;
      if (!closesInner) pending = [];
    }
    seen.add(file);
    if (typeof d.skip === 'string' && DESELECTED.test(d.skip)) continue;
    const fileCounts = perFile.get(file) ?? { ran: 0, skipped: 0 };
    perFile.set(file, fileCounts);
    /** @param {number} n @returns {Counts} */
    const at = (n) => (pending[n] ??= { ran: 0, skipped: 0 });
    if (d.details?.type === 'suite') {
      const inner = pending[d.nesting + 1] ?? { ran: 0, skipped: 0 };
      pending.length = d.nesting + 1;
      if (d.skip !== undefined) {
        problems.push(`suite "${d.name}" in ${file} was skipped: ${reason(d.skip)}`);
        at(d.nesting).skipped++;
        fileCounts.skipped++;
      } else if (inner.ran === 0 && inner.skipped > 0) {
        problems.push(`suite "${d.name}" in ${file}: all ${inner.skipped} test(s) were skipped`);
      }
      at(d.nesting).ran += inner.ran;
      at(d.nesting).skipped += inner.skipped;
      // A suite's tests may be written in another file (test/*.workers.test.ts re-run a whole
      // suite file inside one describe): node names their file, so credit them to the suite's too.
      fileCounts.ran += inner.ran;
      continue;
    }
    if (d.skip !== undefined) {
      problems.push(`test "${d.name}" in ${file} was skipped: ${reason(d.skip)}`);
      at(d.nesting).skipped++;
      fileCounts.skipped++;
    } else {
      at(d.nesting).ran++;
      fileCounts.ran++;
    }
  }

  const asked = (process.env.BASTION_TEST_FILES ?? '').split('\n').filter(Boolean).map((f) => path.relative(process.cwd(), path.resolve(f)));
  for (const f of asked) if (!seen.has(f)) problems.push(`${f} ran no test at all`);
  for (const [f, c] of perFile) if (c.ran === 0) problems.push(`${f} ran no test: all ${c.skipped} skipped`);

  if (problems.length === 0) {
    yield 'skip guard: every test ran\n';
    return;
  }
  const allowed = process.env.BASTION_TEST_ALLOW_SKIP === '1';
  for (const p of problems) yield `${allowed ? 'WARN' : 'FAIL'} skip guard: ${p}\n`;
  yield allowed
    ? `skip guard: ${problems.length} problem(s) allowed by BASTION_TEST_ALLOW_SKIP=1\n`
    : `skip guard: ${problems.length} problem(s): tests that did not run are not passing tests (BASTION_TEST_ALLOW_SKIP=1 to allow)\n`;
}
