// Command filter matching (core/access/commandMatch.ts): RE2, linear in the line, means the
// same as the JavaScript regex it replaced, and refuses patterns it cannot run in linear time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { compileFilter, checkPattern } from '../core/access/commandMatch.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { factories } from './helpers/factories.ts';
import { cleanup } from './helpers/tmp.ts';

/** The command-list regex as it was built before RE2 (backtracking, with a lookahead): the reference meaning. */
function legacyCommandList(pattern: string): RegExp {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const entries = pattern.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
  const alternatives = entries.map((e) => e.split(/\s+/).map(escape).join('\\s+')).join('|');
  return new RegExp(`(?:^|[;&|({\`]|\\$\\()\\s*(?:(?:sudo|exec|command|nohup|time|env)(?:\\s+-\\S+(?:\\s+[^-\\s]\\S*)?)*\\s+)*(?:\\S*/)?(?:${alternatives})(?=$|[\\s;&|)}\`])`, 'm');
}

/** A small deterministic generator, so a failure names a line that can be replayed. */
function* lines(count: number): Generator<string> {
  const tokens = ['rm', '-rf', '-r', 'rm -rf', 'shutdown', 'reboot', 'sudo', '-u', 'root', 'env', '-i', 'time', 'nohup', 'exec', 'command',
    '/sbin/', '/usr/bin/', 'x', 'ls', 'echo', '$(', ')', '`', ';', '&&', '||', '|', '(', '{', '}', '\n', '\r', '\t', ' ', '  ', '\u00a0', '\u2028',
    'rebooting', 'shutdown-now', '~/', 'a=', '-', '--force', 'FOO=1'];
  let seed = 12345;
  const next = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
  for (let i = 0; i < count; i++) {
    const n = 1 + (next() % 9);
    let line = '';
    for (let j = 0; j < n; j++) line += tokens[next() % tokens.length] + (next() % 3 === 0 ? '' : ' ');
    yield line;
  }
}

test('a command list compiled by RE2 decides every line as the former JavaScript regex did', () => {
  for (const pattern of ['rm -rf\nshutdown, reboot', 'rm', 'shutdown', 'sudo', 'rm  -rf']) {
    const next = compileFilter({ kind: 'commands', pattern });
    const old = legacyCommandList(pattern);
    const unusualSpaces = ['rm\u00a0-rf /', 'rm\u3000-rf', 'sudo\u00a0rm -rf x', 'sudo -u\u2003root reboot', 'x;\u2029reboot', 'a\u2028shutdown', 'echo\u000breboot', 'reboot\ufeff'];
    for (const line of [...unusualSpaces, ...lines(4000)]) {
      assert.equal(next.test(line), old.test(line), `${JSON.stringify(pattern)} on ${JSON.stringify(line).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}`);
    }
  }
});

test('an empty command list matches nothing', () => {
  assert.equal(compileFilter({ kind: 'commands', pattern: ' , \n ' }).test('rm -rf /'), false);
});

test('pathological lines and patterns are decided, correctly, without backtracking', () => {
  const list = compileFilter({ kind: 'commands', pattern: 'rm -rf\nshutdown, reboot' });
  // Each of these took seconds (25 repeats) to hours (35) with the backtracking regex.
  assert.equal(list.test(`${'sudo -u x env -i time '.repeat(25)}y`), false);
  assert.equal(list.test(`${'sudo -u x env -i time '.repeat(35)}y`), false);
  assert.equal(list.test(`${'sudo -u x env -i time '.repeat(35)}rm -rf /`), true);
  const nested = compileFilter({ kind: 'regex', pattern: '^(a+)+$' });
  const t0 = performance.now();
  assert.equal(nested.test(`${'a'.repeat(100 * 1024)}b`), false);
  assert.equal(nested.test('a'.repeat(100 * 1024)), true);
  // A sanity bound only (the figure is measured by `npm run bench -- filters`): backtracking would never finish.
  assert.ok(performance.now() - t0 < 5000);
});

test('regex filters are multiline as before: ^ and $ also at line breaks', () => {
  const re = compileFilter({ kind: 'regex', pattern: '^reboot$' });
  assert.equal(re.test('echo a\nreboot\necho b'), true);
  assert.equal(re.test('echo reboot now'), false);
});

test('patterns RE2 cannot express are refused with the reason', () => {
  assert.match(checkPattern('regex', 'rm(?= -rf)')?.message ?? '', /^lookahead and lookbehind .* not supported/);
  assert.match(checkPattern('regex', '(?<!echo )rm')?.message ?? '', /^lookahead and lookbehind .* not supported/);
  assert.match(checkPattern('regex', '(rm)\\s+\\1')?.message ?? '', /^backreferences .* not supported/);
  assert.equal(checkPattern('regex', '(')?.message, 'invalid regular expression (RE2 syntax): missing closing ): `(`');
  assert.equal(checkPattern('regex', 'a{2000}')?.message, 'invalid regular expression (RE2 syntax): invalid repeat count: `{2000}`');
  assert.equal(checkPattern('regex', '^rm\\s+-rf\\b'), null);
  assert.equal(checkPattern('regex', '\\(?=x'), null, 'an escaped paren is no lookahead');
  assert.equal(checkPattern('commands', 'rm -rf, (weird) [name]'), null);
});

const TOO_COSTLY = /^the pattern is too costly to match: its automaton is too large/;

test('a regex whose automaton outgrows RE2\'s DFA cache (it would fall back to the slow NFA) is refused, however it is written', () => {
  assert.match(checkPattern('regex', 'a[ab;]{200}[ab]{5}$')?.message ?? '', TOO_COSTLY);
  assert.match(checkPattern('regex', 'a[ab;]{12}[ab]{5}$')?.message ?? '', TOO_COSTLY);
  assert.match(checkPattern('regex', '.*x.{20}$')?.message ?? '', TOO_COSTLY);
  // The same blow-up without a counted repetition: the bound is the automaton, not the `{n}` in the text.
  assert.match(checkPattern('regex', `a${'[ab;]'.repeat(20)}$`)?.message ?? '', TOO_COSTLY);
  assert.throws(() => compileFilter({ kind: 'regex', pattern: 'a[ab;]{200}[ab]{5}$' }), /automaton too large/);
  // Large but deterministic repetitions and the usual admin regexes stay accepted.
  for (const pattern of ['a[ab;]{5}[ab]{5}$', 'a{1000}', '[^x]{999}x', '^(a+)+$', '(\\w+\\s*)+;\\s*rm', '[^\\n]*(sudo\\s+){3,}', '(?i)drop\\s+(table|database)']) {
    assert.equal(checkPattern('regex', pattern), null, pattern);
  }
});

test('a 200-entry command list (as long as a pattern may be) is accepted and matches each entry', () => {
  const entries = Array.from({ length: 200 }, (_, i) => `c${i}`);
  const pattern = entries.join('\n');
  assert.equal(checkPattern('commands', pattern), null);
  const re = compileFilter({ kind: 'commands', pattern });
  assert.equal(re.test('sudo -u x /usr/bin/c199 now'), true);
  assert.equal(re.test('echo c200; c20x'), false);
  assert.equal(checkPattern('commands', 'rm -rf, mkfs, dd, shutdown, reboot, halt, poweroff, init 0, iptables -F, chmod -R 777, userdel, crontab -r'), null);
});

let b: Bastion;
let admin: ApiClient;
before(async () => {
  b = await startBastion();
  admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
});
after(async () => { await b.stop(); await cleanup(); });

test('the API refuses a lookaround or backreference pattern at creation and update with a 400 naming the problem', async () => {
  const created = await admin.post('/command-filters', { name: 'look', kind: 'regex', pattern: 'rm(?! -i)' });
  assert.equal(created.status, 400);
  assert.equal(created.body.error.code, 'validation_failed');
  assert.equal(created.body.error.details.field, 'pattern');
  assert.match(created.body.error.message, /^lookahead and lookbehind/);
  const ok = await admin.post('/command-filters', { name: 'plain', kind: 'regex', pattern: '^rm ' });
  assert.equal(ok.status, 201);
  const patched = await admin.patch(`/command-filters/${ok.body.id}`, { pattern: '(rm) \\1' });
  assert.equal(patched.status, 400);
  assert.match(patched.body.error.message, /^backreferences/);
  assert.equal((await admin.get(`/command-filters/${ok.body.id}`)).body.pattern, '^rm ', 'the refused change was not saved');
  const costly = await admin.post('/command-filters', { name: 'costly', kind: 'regex', pattern: 'a[ab;]{200}[ab]{5}$' });
  assert.equal(costly.status, 400);
  assert.equal(costly.body.error.details.field, 'pattern');
  assert.match(costly.body.error.message, TOO_COSTLY);
  const patchedCostly = await admin.patch(`/command-filters/${ok.body.id}`, { pattern: '.*x.{20}$' });
  assert.equal(patchedCostly.status, 400);
  assert.match(patchedCostly.body.error.message, TOO_COSTLY);
});

test('a stored filter whose automaton is now too large fails closed: a deny filter denies every line in its scope', async () => {
  const f = factories(b.services);
  const u = await f.user();
  const a = await f.asset();
  const row = await b.services.commandFilters.create(SYSTEM_ACTOR, { name: 'legacy-costly', kind: 'regex', pattern: 'placeholder', action: 'deny', users: [u.id] });
  await b.services.ds.query(`UPDATE command_filter SET pattern = 'a[ab;]{200}[ab]{5}$' WHERE id = '${row.id}'`);
  b.services.changes.emit('commandFilters');
  assert.deepEqual(await b.services.commandFilters.check({ userId: u.id, assetId: a.id, systemUserId: null }, 'ls'), { action: 'deny', filter: { id: row.id, name: 'legacy-costly' } });
});

test('a stored filter RE2 cannot compile fails closed: a deny filter then denies every line in its scope', async () => {
  const f = factories(b.services);
  const u = await f.user();
  const a = await f.asset();
  const row = await b.services.commandFilters.create(SYSTEM_ACTOR, { name: 'legacy-lookahead', kind: 'regex', pattern: 'placeholder', action: 'deny', users: [u.id] });
  // As saved by an older version that accepted JavaScript-only syntax.
  await b.services.ds.query(`UPDATE command_filter SET pattern = 'rm(?= -rf)' WHERE id = '${row.id}'`);
  b.services.changes.emit('commandFilters');
  const verdict = await b.services.commandFilters.check({ userId: u.id, assetId: a.id, systemUserId: null }, 'ls');
  assert.deepEqual(verdict, { action: 'deny', filter: { id: row.id, name: 'legacy-lookahead' } });
  // The admin can switch it off without fixing it first, and is told what is wrong when fixing it.
  assert.equal((await admin.patch(`/command-filters/${row.id}`, { active: false })).status, 200);
  assert.deepEqual(await b.services.commandFilters.check({ userId: u.id, assetId: a.id, systemUserId: null }, 'ls'), { action: 'allow', filter: null });
  const fix = await admin.patch(`/command-filters/${row.id}`, { pattern: 'rm(?= -rf)' });
  assert.equal(fix.status, 400);
  assert.match(fix.body.error.message, /^lookahead and lookbehind/);
});
