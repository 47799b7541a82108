// BASTION_MAX_CONNECTIONS_PER_USER's count lives in the database (core/audit/sshConnections.ts):
// two lease keepers on one database are two gateway processes; one that stops marking its rows
// (its process died) stops counting after three heartbeat periods, and the sweep removes its rows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBastion, type Bastion } from './helpers/bastion.ts';
import { startPostgres } from './helpers/postgres.ts';
import { factories } from './helpers/factories.ts';
import { cleanup } from './helpers/tmp.ts';
import { SshConnectionLeases } from '../core/audit/sshConnections.ts';
import { SshConnectionEntity, type SshConnectionLease } from '../core/db/entities/index.ts';

let b: Bastion;
before(async () => { b = await startBastion({ http: false }); });
after(async () => {
  await b?.stop();
  await cleanup();
});

test('two processes share one count; a dead process\'s leases stop counting after three heartbeat periods and are swept', async () => {
  const user = await factories(b.services).user({ username: 'leaser', password: 'Lease-holder-2024' });
  const HEARTBEAT = 60_000;
  const one = new SshConnectionLeases(b.services.ds, HEARTBEAT);
  const two = new SshConnectionLeases(b.services.ds, HEARTBEAT);
  try {
    const a = await one.take(user.id, '127.0.0.1', 2);
    const c = await two.take(user.id, '127.0.0.2', 2);
    assert.ok(a && c);
    assert.equal(await one.take(user.id, '127.0.0.1', 2), null, 'the other process\'s connection counts');
    assert.equal(await two.take(user.id, '127.0.0.2', 2), null);
    assert.equal(await one.take(user.id, '127.0.0.1', 0), '', '0: no limit, nothing held');

    await two.release(c);
    const d = await one.take(user.id, '127.0.0.1', 2);
    assert.ok(d, 'a released slot is free in every process');

    // Process one dies: its rows are no longer marked.
    one.stop();
    const repo = b.services.ds.getRepository(SshConnectionEntity);
    await repo.update({ userId: user.id }, { heartbeatAt: new Date(Date.now() - 3 * HEARTBEAT - 1000) });
    const e = await two.take(user.id, '127.0.0.2', 2);
    assert.ok(e, 'a dead process\'s leases do not lock the user out');
    assert.equal(await two.dropStale(), 2);
    assert.deepEqual((await repo.findBy({ userId: user.id })).map((r) => r.id), [e]);
    await two.release(e!);
    assert.equal(await repo.countBy({ userId: user.id }), 0);
  } finally {
    one.stop();
    two.stop();
  }
});

test('a process that stalled past three periods and lost its rows to the sweep writes them again: its open connections count again', async () => {
  const user = await factories(b.services).user({ username: 'staller', password: 'Resumed-lease-2024' });
  const HEARTBEAT = 300;
  const stalled = new SshConnectionLeases(b.services.ds, HEARTBEAT);
  const other = new SshConnectionLeases(b.services.ds, HEARTBEAT);
  const repo = b.services.ds.getRepository(SshConnectionEntity);
  try {
    const id = await stalled.take(user.id, '127.0.0.7', 1);
    assert.ok(id);
    const before = await repo.findOneByOrFail({ id });
    // The other process's sweep judges the stalled one gone: its row is deleted.
    // The stalled process still beats every HEARTBEAT: one that lands between the two writes
    // makes the row fresh again, so the pair is tried until the sweep finds it stale.
    let dropped = 0;
    for (let i = 0; i < 20 && dropped === 0; i++) {
      await repo.update({ id }, { heartbeatAt: new Date(Date.now() - 3 * HEARTBEAT - 1000) });
      dropped = await other.dropStale();
    }
    assert.equal(dropped, 1);
    // The stalled process resumes: its next heartbeat writes the row again, as it was.
    let again: SshConnectionLease | null = null;
    for (let i = 0; i < 100 && !again; i++) {
      await new Promise((r) => setTimeout(r, 50));
      again = await repo.findOneBy({ id });
    }
    assert.ok(again, 'the row is written again');
    assert.equal(again.userId, user.id);
    assert.equal(again.clientAddress, '127.0.0.7');
    assert.equal(again.startedAt.getTime(), before.startedAt.getTime());
    assert.equal(await other.take(user.id, '127.0.0.8', 1), null, 'the connection counts again toward the limit');
    await stalled.release(id);
    assert.equal(await repo.countBy({ userId: user.id }), 0);
  } finally {
    stalled.stop();
    other.stop();
  }
});

test('PostgreSQL: logins at the same moment in two processes never pass the limit together', async (t) => {
  const pg = await startPostgres();
  if ('skip' in pg) {
    t.skip(pg.skip);
    return;
  }
  const env = { DATABASE_URL: pg.url, SECRET_KEY: 'lease-test-secret-key-0123456789abcdef' };
  // Two processes' worth of services (each its own pool of database connections) on one database.
  const first = await startBastion({ http: false, env });
  const second = await startBastion({ http: false, env });
  const one = new SshConnectionLeases(first.services.ds, 60_000);
  const two = new SshConnectionLeases(second.services.ds, 60_000);
  try {
    const user = await factories(first.services).user({ username: 'racer', password: 'Racing-lease-2024' });
    const taken = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? one : two).take(user.id, '127.0.0.1', 3)));
    assert.equal(taken.filter((id) => id !== null).length, 3);
    assert.equal(await first.services.ds.getRepository(SshConnectionEntity).countBy({ userId: user.id }), 3);
  } finally {
    one.stop();
    two.stop();
    await first.stop();
    await second.stop();
    await pg.stop();
  }
});
