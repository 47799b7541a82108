// scripts/skipGuard.mjs, the reporter that makes `npm test` fail when tests did not run: run
// on small test files of its own, as test.sh runs it on the suite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { makeTempDir } from './helpers/tmp.ts';

const GUARD = path.resolve('scripts/skipGuard.mjs');

async function guard(files: Record<string, string>, opts: { extraArgs?: string[]; env?: Record<string, string>; ask?: string[] } = {}): Promise<string[]> {
  const dir = makeTempDir('bastion-skipguard-');
  for (const [name, body] of Object.entries(files)) writeFileSync(path.join(dir, name), `import { test, describe } from 'node:test';\n${body}\n`);
  const names = Object.keys(files);
  const r = await execa('node', ['--test', `--test-reporter=${GUARD}`, ...(opts.extraArgs ?? []), ...names], {
    cwd: dir, reject: false,
    // NODE_TEST_CONTEXT would make the inner runner report to this one instead of to its reporter.
    env: { NODE_TEST_CONTEXT: undefined, BASTION_TEST_FILES: (opts.ask ?? names).join('\n'), BASTION_TEST_ALLOW_SKIP: '', ...opts.env },
  });
  return String(r.stdout).trim().split('\n');
}

test('every test ran: one line that says so', async () => {
  assert.deepEqual(await guard({ 'ok.test.mjs': "test('a', () => {});" }), ['skip guard: every test ran']);
});

test('a skipped suite, a skipped test, a file that ran nothing and a file asked for but absent each fail the run', async () => {
  const out = await guard({
    'suite.test.mjs': "describe('gateway', { skip: 'no sshd' }, () => { test('x', () => {}); });",
    'mixed.test.mjs': "test('runs', () => {}); test('needs pg', (t) => { t.skip('no PostgreSQL'); });",
    'inner.test.mjs': "test('runs', () => {}); describe('all skipped', () => { test('y', (t) => t.skip('no root')); });",
  }, { ask: ['suite.test.mjs', 'mixed.test.mjs', 'inner.test.mjs', 'missing.test.mjs'] });
  assert.deepEqual(out.filter((l) => l.startsWith('FAIL ')).sort(), [
    'FAIL skip guard: missing.test.mjs ran no test at all',
    'FAIL skip guard: suite "all skipped" in inner.test.mjs: all 1 test(s) were skipped',
    'FAIL skip guard: suite "gateway" in suite.test.mjs was skipped: no sshd',
    'FAIL skip guard: suite.test.mjs ran no test: all 1 skipped',
    'FAIL skip guard: test "needs pg" in mixed.test.mjs was skipped: no PostgreSQL',
    'FAIL skip guard: test "y" in inner.test.mjs was skipped: no root',
  ]);
  assert.match(out.at(-1)!, /^skip guard: 6 problem\(s\)/);
});

test('BASTION_TEST_ALLOW_SKIP=1 makes them warnings; tests left out by --test-name-pattern are not skips', async () => {
  const skipped = { 's.test.mjs': "test('runs', () => {}); test('later', (t) => t.skip('no sshd'));" };
  const allowed = await guard(skipped, { env: { BASTION_TEST_ALLOW_SKIP: '1' } });
  assert.deepEqual(allowed, ['WARN skip guard: test "later" in s.test.mjs was skipped: no sshd', 'skip guard: 1 problem(s) allowed by BASTION_TEST_ALLOW_SKIP=1']);
  const narrowed = await guard({ 'n.test.mjs': "test('wanted', () => {}); test('other', () => {});" }, { extraArgs: ['--test-name-pattern=wanted'] });
  assert.deepEqual(narrowed, ['skip guard: every test ran']);
});
