import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assetRows, parseCsv } from '../web/src/features/assets/csv.ts';
import { buildNodeTree, subtreeIds } from '../web/src/components/nodeTree.ts';
import { changedFields } from '../web/src/components/diff.ts';
import { queryString } from '../web/src/services/api.ts';
import { makeUser } from '../web/src/services/users.ts';
import { makeSystemUser } from '../web/src/services/accounts.ts';
import { commonSystemUsers } from '../web/src/features/jobs/grantedTargets.ts';
import { en } from '../web/src/i18n/en.ts';
import { zh } from '../web/src/i18n/zh.ts';

test('CSV: quoted fields with commas, doubled quotes and CRLF line ends', () => {
  assert.deepEqual(parseCsv('a,"b, c","say ""hi"""\r\n1,2,3\r\n'), [['a', 'b, c', 'say "hi"'], ['1', '2', '3']]);
  assert.deepEqual(parseCsv('x\n\n\ny\n'), [['x'], ['y']]);
});

test('asset CSV rows are read by header name, with labels split on ";" and line numbers for the report', () => {
  const rows = assetRows('\uFEFFAddress,Name,labels,port\n10.0.0.1,web01,a; b,2222\n10.0.0.2,web02,,\n');
  assert.deepEqual(rows, [
    { line: 2, name: 'web01', address: '10.0.0.1', port: 2222, platform: undefined, labels: ['a', 'b'], comment: undefined },
    { line: 3, name: 'web02', address: '10.0.0.2', port: undefined, platform: undefined, labels: [], comment: undefined },
  ]);
});

test('the flat node list becomes a sorted tree; a subtree holds every descendant', () => {
  const n = (id: string, name: string, parent: string | null) => ({ id, name, parent, path: name, assetCount: 0 });
  const list = [n('r', 'Default', null), n('b', 'beta', 'r'), n('a', 'alpha', 'r'), n('c', 'child', 'b'), n('d', 'deep', 'c')];
  const tree = buildNodeTree(list);
  assert.equal(tree.length, 1);
  assert.deepEqual(tree[0]!.children.map((c) => c.title), ['alpha', 'beta']);
  assert.deepEqual([...subtreeIds(list, 'b')].sort(), ['b', 'c', 'd']);
});

test('a PATCH carries only the fields that changed', () => {
  assert.deepEqual(changedFields({ name: 'a', groups: ['1'], email: null }, { name: 'a', groups: ['1', '2'], email: null }), { groups: ['1', '2'] });
  assert.deepEqual(changedFields({ active: true }, { active: true }), {});
});

test('query strings leave out empty filters', () => {
  assert.equal(queryString({ search: '', limit: 20, offset: 0, active: undefined, role: 'admin' }), '?limit=20&offset=0&role=admin');
});

test('mappers keep only known fields: no secret can pass through a presenter on the web side either', () => {
  const u = makeUser({ id: 'u1', username: 'x', role: 'root', passwordHash: 'h', totpSecret: 's' });
  assert.equal(u.role, 'user');
  assert.equal('passwordHash' in u, false);
  const su = makeSystemUser({ id: 's1', name: 'n', username: 'deploy', password: 'p', hasPassword: true });
  assert.equal('password' in su, false);
  assert.equal(su.hasPassword, true);
});

test('the Chinese catalogue has every English message and no empty one', () => {
  const keys = (o: object, prefix = ''): string[] => Object.entries(o).flatMap(([k, v]) => (typeof v === 'string' ? [prefix + k] : keys(v as object, `${prefix}${k}.`)));
  assert.deepEqual(keys(zh).sort(), keys(en).sort());
  const values = (o: object): string[] => Object.values(o).flatMap((v) => (typeof v === 'string' ? [v] : values(v as object)));
  assert.deepEqual(values(zh).filter((v) => !v.trim()), []);
});

test('an operator may run a job only as a system user granted with connect on every chosen asset', () => {
  const su = (id: string, actions: string[]) => ({ id, name: id, username: `${id}-login`, priority: 0, actions });
  const asset = (id: string, systemUsers: ReturnType<typeof su>[]) => ({ id, name: id, address: '10.0.0.1', port: 22, platform: 'linux', comment: '', systemUsers, sshCommand: null });
  const assets = [
    asset('a', [su('deploy', ['connect']), su('ops', ['connect', 'upload']), su('viewer', ['download'])]),
    asset('b', [su('deploy', ['connect']), su('viewer', ['download'])]),
    asset('c', [su('ops', ['connect'])]),
  ];
  assert.deepEqual(commonSystemUsers(assets, []), []);
  assert.deepEqual(commonSystemUsers(assets, ['a']).map((o) => o.value), ['deploy', 'ops']);
  assert.deepEqual(commonSystemUsers(assets, ['a', 'b']), [{ value: 'deploy', label: 'deploy (deploy-login)' }]);
  assert.deepEqual(commonSystemUsers(assets, ['b', 'c']), []);
});

test('dates, numbers, sizes and durations follow the language: zh-CN reads 年/月/日 and 分钟, English reads month names and h/m/s', async () => {
  const { i18n } = await import('../web/src/i18n/index.ts');
  const f = await import('../web/src/i18n/format.ts');
  const at = new Date(2026, 11, 5, 13, 4, 5);
  try {
    await i18n.changeLanguage('en');
    assert.equal(f.formatTime(at), 'Dec 5, 2026, 13:04:05');
    assert.equal(f.formatDate(at.toISOString()), 'Dec 5, 2026');
    assert.equal(f.formatNumber(1234567), '1,234,567');
    assert.equal(f.formatBytes(1536), '1.5 KiB');
    assert.equal(f.formatDuration(3_900_000), '1h 5m');
    assert.equal(f.formatRelative(at.getTime() - 180_000, at.getTime()), '3 minutes ago');
    await i18n.changeLanguage('zh');
    assert.equal(f.formatTime(at), '2026年12月5日 13:04:05');
    assert.equal(f.formatDate(at.toISOString()), '2026年12月5日');
    assert.equal(f.formatBytes(1536), '1.5 KiB');
    assert.equal(f.formatDuration(3_900_000), '1小时5分钟');
    assert.equal(f.formatDuration(65_000), '1分钟5秒');
    assert.equal(f.formatRelative(at.getTime() - 180_000, at.getTime()), '3分钟前');
    assert.equal(f.formatTime(null), '—');
  } finally {
    await i18n.changeLanguage('en');
  }
});
