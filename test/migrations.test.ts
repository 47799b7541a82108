import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openDatabase } from '../core/db/dataSource.ts';
import { migrations } from '../migrations/index.ts';
import { startPostgres } from './helpers/postgres.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import type { Database } from '../core/config.ts';
import { Secret } from '../core/vault/secret.ts';

after(cleanup);

async function roundTrip(db: Database): Promise<void> {
  const ds = await openDatabase(db, { migrate: true });
  try {
    assert.equal(await ds.showMigrations(), false, 'nothing pending after migrate');
    const tables = ['user', 'asset', 'permission', 'session', 'command', 'login_log', 'operation_log', 'file_transfer', 'job', 'host_key', 'command_filter', 'login_throttle', 'saved_command', 'recovery_code'];
    for (const t of tables) assert.ok(await ds.createQueryRunner().hasTable(t), `table ${t} exists`);
    for (let i = 0; i < migrations.length; i++) await ds.undoLastMigration({ transaction: 'each' });
    assert.equal(await ds.createQueryRunner().hasTable('user'), false, 'down removes the schema');
    await ds.runMigrations({ transaction: 'each' });
    assert.equal(await ds.showMigrations(), false);
  } finally {
    await ds.destroy();
  }
}

test('all migrations run up, down and up again on SQLite', async () => {
  await roundTrip({ kind: 'sqlite', file: path.join(makeTempDir('bastion-mig-'), 'db.sqlite') });
});

test('all migrations run up, down and up again on PostgreSQL', async (t) => {
  const pg = await startPostgres();
  if ('skip' in pg) { t.skip(pg.skip); return; }
  try {
    await roundTrip({ kind: 'postgres', url: new Secret(pg.url) });
  } finally {
    await pg.stop();
  }
});
