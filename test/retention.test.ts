// Retention purges erase audit, so they are audited themselves: an operation-log row names
// who purged what and how many rows; `days` has a floor (BASTION_RETENTION_MIN_DAYS); the
// route is admin-only and refuses a second purge within a minute.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { ApiClient, loggedIn } from './helpers/api.ts';
import { factories } from './helpers/factories.ts';
import { cleanup } from './helpers/tmp.ts';
import { loadConfig, ConfigError } from '../core/config.ts';

let b: Bastion;
let admin: ApiClient;

before(async () => {
  b = await startBastion({ env: { BASTION_RETENTION_MIN_DAYS: '45' } });
  admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
});
after(async () => { await b.stop(); await cleanup(); });

test('a purge below the floor is refused and deletes nothing', async () => {
  await new ApiClient(b.baseUrl).login('admin', 'a-wrong-password-1');
  const [{ n: before }] = await b.services.ds.query('SELECT COUNT(*) AS n FROM login_log') as [{ n: number }];
  for (const days of [1, 44]) {
    const r = await admin.post('/audit/retention/purge', { days });
    assert.equal(r.status, 400, `days ${days}`);
    assert.equal(r.body.error.details.field, 'days');
  }
  // Also when everything is old enough to go.
  await b.services.ds.query(`UPDATE login_log SET created_at = ${Date.now() - 10 * 86_400_000}`);
  const [{ n: after }] = await b.services.ds.query('SELECT COUNT(*) AS n FROM login_log') as [{ n: number }];
  assert.equal(Number(after), Number(before));
});

test('only an admin may purge', async () => {
  const f = factories(b.services);
  await f.user({ username: 'retaud', password: 'Auditor-retention-1', role: 'auditor' });
  const auditor = await loggedIn(b.baseUrl, 'retaud', 'Auditor-retention-1');
  assert.equal((await auditor.post('/audit/retention/purge', { days: 45 })).status, 403);
  assert.equal((await new ApiClient(b.baseUrl).post('/audit/retention/purge', { days: 45 })).status, 401);
});

test('a purge writes an operation-log row with who, the days and how many rows; a second one within a minute is refused', async () => {
  const longAgo = Date.now() - 400 * 86_400_000;
  await new ApiClient(b.baseUrl).login('admin', 'another-wrong-pass-2');
  await b.services.ds.query(`UPDATE login_log SET created_at = ${longAgo}`);
  const [{ n: oldLogins }] = await b.services.ds.query('SELECT COUNT(*) AS n FROM login_log') as [{ n: number }];
  assert.ok(Number(oldLogins) >= 2);
  const r = await admin.post('/audit/retention/purge', { days: 45 });
  assert.equal(r.status, 200);
  assert.equal(r.body.loginLogs, Number(oldLogins));
  const ops = (await admin.get('/audit/operations?limit=50')).body.items as { actor: { username: string }; action: string; resourceType: string; changes: Record<string, unknown> }[];
  const row = ops.find((o) => o.action === 'purge');
  assert.ok(row, JSON.stringify(ops.slice(0, 3)));
  assert.equal(row.actor.username, 'admin');
  assert.equal(row.resourceType, 'retention');
  assert.equal(row.changes.days, 45);
  assert.equal(row.changes.loginLogs, Number(oldLogins));
  assert.equal(typeof row.changes.operationLogs, 'number');
  const again = await admin.post('/audit/retention/purge', { days: 3650 });
  assert.equal(again.status, 429);
  assert.equal(again.body.error.code, 'rate_limited');
  const opsAfter = (await admin.get('/audit/operations?limit=50')).body.items as { action: string }[];
  assert.equal(opsAfter.filter((o) => o.action === 'purge').length, 1);
});

test('BASTION_RETENTION_DAYS below the floor is a configuration error', () => {
  assert.throws(() => loadConfig({ BASTION_RETENTION_DAYS: '7' }), ConfigError);
  assert.equal(loadConfig({ BASTION_RETENTION_DAYS: '0' }).retentionDays, 0);
  assert.equal(loadConfig({ BASTION_RETENTION_DAYS: '7', BASTION_RETENTION_MIN_DAYS: '7' }).retentionMinDays, 7);
});
