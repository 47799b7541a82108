// A command held by a `confirm` filter is decided once, whichever processes decisions reach
// (rule 12: no control is enforced in one process only). Two bastions (a web server and a
// gateway, say) share one database and one bus; an approval sent to one and a rejection sent to
// the other at the same moment give exactly one 204 and one 409 that names the winner, one
// operation log row, and the holder follows the winner.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterBus } from '../core/bus.ts';
import { OperationLogEntity } from '../core/db/entities/index.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { postgresForFile } from './helpers/postgres.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { eventually } from './gatewayFixture.ts';

const postgres = postgresForFile();
after(() => cleanup());

for (const db of ['SQLite', 'PostgreSQL'] as const) describe(`a held command is decided once across processes (${db})`, () => {
  let holder: Bastion;
  let other: Bastion;
  let adminHolder: ApiClient;
  let adminOther: ApiClient;
  let seq = 0;

  before(async () => {
    if (db === 'PostgreSQL' && !postgres.pg) return;
    // SQLite: one data directory, and one bus as a node:cluster primary gives its workers.
    // PostgreSQL: one database, and the bus it carries between processes (LISTEN/NOTIFY).
    const dataDir = makeTempDir('bastion-claim-');
    const shared = db === 'PostgreSQL' ? { dataDir, env: { DATABASE_URL: postgres.pg!.url } } : { dataDir, bus: new ClusterBus() };
    holder = await startBastion(shared);
    other = await startBastion(shared);
    adminHolder = await loggedIn(holder.baseUrl, 'admin', ADMIN_PASSWORD);
    adminOther = await loggedIn(other.baseUrl, 'admin', ADMIN_PASSWORD);
  });
  after(async () => {
    await other?.stop();
    await holder?.stop();
  });

  test('an approval and a rejection sent to two processes at once: one 204, one 409 naming the winner, one operation log row, the holder follows the 204', async (t) => {
    if (!holder) return t.skip(postgres.skip);
    for (let round = 0; round < 3; round++) {
      const sessionId = `b1d3f0a2-0000-4000-8000-0000000009${String(++seq).padStart(2, '0')}`;
      const held = holder.services.confirmations.request({ sessionId, jobId: null, username: 'u', assetName: 'a', systemUsername: 's', command: 'reboot', filter: 'confirm-reboot' }, 20_000);
      const listed = await eventually(() => adminOther.get('/command-confirmations'), (r) => (r.body.items as Array<{ sessionId: string }>).some((c) => c.sessionId === sessionId));
      const id = (listed.body.items as Array<{ id: string; sessionId: string }>).find((c) => c.sessionId === sessionId)!.id;
      // Alternate which process gets which decision.
      const [approveTo, rejectTo] = round % 2 === 0 ? [adminHolder, adminOther] : [adminOther, adminHolder];
      const [approve, reject] = await Promise.all([approveTo.post(`/command-confirmations/${id}/approve`), rejectTo.post(`/command-confirmations/${id}/reject`)]);
      assert.deepEqual([approve.status, reject.status].sort(), [204, 409], `round ${round}: ${approve.status} ${reject.status}`);
      const approved = approve.status === 204;
      const loser = approved ? reject : approve;
      assert.deepEqual(loser.body.error, { code: 'conflict', message: `this command was already ${approved ? 'approved' : 'rejected'} by admin`, details: { reason: 'confirmation_decided' } });
      assert.deepEqual(await held, { approved, by: 'admin' });
      const logged = (await holder.services.ds.getRepository(OperationLogEntity).findBy({ resourceId: sessionId })).map((o) => o.action);
      assert.deepEqual(logged, [approved ? 'approve_command' : 'reject_command']);
    }
  });
});
