// Issue 12 item 10 (in part): while PostgreSQL is unreachable the API says so — 503 with
// error.code `database_unavailable` — rather than a bare 500 "internal error".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBastion, ADMIN_PASSWORD } from './helpers/bastion.ts';
import { loggedIn } from './helpers/api.ts';
import { startPostgres } from './helpers/postgres.ts';
import { cleanup } from './helpers/tmp.ts';
import { isDatabaseUnavailable } from '../core/db/databaseFaults.ts';

test('with PostgreSQL down, API routes answer 503 database_unavailable', async (t) => {
  const started = await startPostgres();
  if ('skip' in started) { t.skip(started.skip); return; }
  const b = await startBastion({ env: { DATABASE_URL: started.url, SECRET_KEY: 'outage-test-secret-key-0123456789abcdef' } });
  try {
    const admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
    assert.equal((await admin.get('/me')).status, 200);
    await started.stop();
    for (const path of ['/me', '/users', '/sessions']) {
      const r = await admin.get(path);
      assert.equal(r.status, 503, `${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'database_unavailable');
      assert.match(r.body.error.message, /cannot reach its database/);
    }
  } finally {
    await Promise.race([b.stop(), new Promise((r) => setTimeout(r, 10_000).unref())]);
    await started.stop();
    await cleanup();
  }
});

test('only unreachable-database errors are taken for an outage', () => {
  assert.equal(isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })), true);
  assert.equal(isDatabaseUnavailable({ message: 'query failed', driverError: { code: '57P01', message: 'terminating connection due to administrator command' } }), true);
  assert.equal(isDatabaseUnavailable(new Error('Connection terminated unexpectedly')), true);
  assert.equal(isDatabaseUnavailable({ code: '23505', message: 'duplicate key value violates unique constraint' }), false);
  assert.equal(isDatabaseUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')")), false);
});
