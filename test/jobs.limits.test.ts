// A command job logs in to its assets as a session does (up to 8 at once): a user's running jobs
// count toward BASTION_MAX_SESSIONS_PER_USER with their active sessions, so that nobody can hold
// the bastion's connections (and its descriptors) without bound by starting job after job.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { JobEntity } from '../core/db/entities/index.ts';
import { startBastion, type Bastion } from './helpers/bastion.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { startSshd, sshdUnavailable, type Sshd } from './helpers/sshd.ts';
import { factories } from './helpers/factories.ts';
import { cleanup } from './helpers/tmp.ts';
import { eventually, ssh2Exec, ssh2Login } from './gatewayFixture.ts';
import { postgresForFile } from './helpers/postgres.ts';
import { loginsHeld } from '../core/audit/loginsHeld.ts';

const skip = sshdUnavailable();

const postgres = postgresForFile();
after(() => cleanup());

for (const db of ['SQLite', 'PostgreSQL'] as const) describe(`running jobs count toward the per-user session limit (${db})`, { skip }, () => {
  let b: Bastion;
  let sshd: Sshd;
  let op: ApiClient;
  let userId: string;
  const assets: string[] = [];
  let su: string;

  before(async () => {
    if (db === 'PostgreSQL' && !postgres.pg) return;
    sshd = await startSshd();
    b = await startBastion({ gateway: true, env: { BASTION_MAX_SESSIONS_PER_USER: '3', ...(db === 'PostgreSQL' ? { DATABASE_URL: postgres.pg!.url } : {}) } });
    const f = factories(b.services);
    for (const name of ['limit-a', 'limit-b']) assets.push((await f.asset({ name, address: sshd.host, port: sshd.port })).id);
    su = (await f.systemUser({ name: 'limit-app', username: sshd.username, password: sshd.password })).id;
    const u = await f.user({ username: 'limited', password: 'Capped-pass-9041' });
    userId = u.id;
    await b.services.permissions.create(SYSTEM_ACTOR, { name: 'limited-jobs', users: [u.id], assets, systemUsers: [su], actions: ['connect'] });
    op = await loggedIn(b.baseUrl, 'limited', 'Capped-pass-9041');
  });
  after(async () => {
    await b?.stop();
    await sshd?.stop();
  });
  const start = (ids: string[]) => op.post('/jobs', { kind: 'command', assets: ids, systemUser: su, command: 'echo started; sleep 30' });
  // Canceled once its command runs on every asset (a kill sent before that is not what this tests).
  const cancel = async (id: string, assetCount: number) => {
    await eventually(() => op.get(`/jobs/${id}`), (r) => (r.body.results as Array<{ output: string }>).filter((x) => x.output.startsWith('started')).length === assetCount, 15_000);
    assert.equal((await op.post(`/jobs/${id}/cancel`)).status, 200);
  };
  const AT_LIMIT = 'you already have 3 active sessions (jobs count one per asset they work on at once), the most allowed; end one first';

  test('a job over two assets counts two, one over one asset one; the next is refused with 409 session_limit_reached and no job row, and runs once one ends', async (t) => {
    if (!b) return t.skip(postgres.skip);
    const two = await start(assets);
    assert.equal(two.status, 202, JSON.stringify(two.body));
    const one = await start([assets[0]!]);
    assert.equal(one.status, 202, JSON.stringify(one.body));
    const refused = await start([assets[1]!]);
    assert.equal(refused.status, 409);
    assert.deepEqual([refused.body.error.details.reason, refused.body.error.details.limit], ['session_limit_reached', 3]);
    assert.equal(await b.services.ds.getRepository(JobEntity).countBy({ createdBy: userId }), 2, 'the refused job left no row');
    await cancel(one.body.id, 1);
    const next = await start([assets[1]!]);
    assert.equal(next.status, 202, JSON.stringify(next.body));
    await cancel(two.body.id, 2);
    await cancel(next.body.id, 1);

    // Five at once with room for three: three run, two are refused (the count and the insert are one step).
    const burst = await Promise.all(Array.from({ length: 5 }, () => start([assets[0]!])));
    assert.deepEqual(burst.map((r) => r.status).sort(), [202, 202, 202, 409, 409]);
    for (const r of burst.filter((x) => x.status === 202)) await cancel(r.body.id, 1);
  });

  test('SSH sessions and jobs count each other: with a session open, jobs fill the rest and one more is refused; with jobs holding every login, an SSH session is refused with the line that says so, and opens once they end', async (t) => {
    if (!b) return t.skip(postgres.skip);
    const login = () => ssh2Login(b.sshPort, { username: 'limited@limit-a', password: 'Capped-pass-9041' });
    const held = await login();
    try {
      const holding = ssh2Exec(held, 'sleep 30');
      await eventually(() => loginsHeld(b.services.ds.manager, userId).then((h) => h.sessions), (n) => n === 1, 15_000);
      const two = await start(assets);
      assert.equal(two.status, 202, JSON.stringify(two.body));
      const refused = await start([assets[0]!]);
      assert.equal(refused.status, 409);
      assert.deepEqual(refused.body.error, { code: 'conflict', message: AT_LIMIT, details: { reason: 'session_limit_reached', limit: 3 } });
      held.end();
      await holding.catch(() => undefined);
      await eventually(() => loginsHeld(b.services.ds.manager, userId).then((h) => h.sessions), (n) => n === 0, 15_000);
      const one = await start([assets[1]!]);
      assert.equal(one.status, 202, JSON.stringify(one.body));

      // Jobs hold all three logins: an SSH session is one more.
      const c = await login();
      try {
        const r = await ssh2Exec(c, 'echo ran');
        assert.deepEqual([r.code, r.stderr.trim(), r.stdout.toString()], [255, AT_LIMIT, '']);
        await cancel(two.body.id, 2);
        await cancel(one.body.id, 1);
        const again = await ssh2Exec(c, 'echo ran');
        assert.deepEqual([again.code, again.stdout.toString()], [0, 'ran\n']);
      } finally {
        c.end();
      }
    } finally {
      held.end();
    }
  });
});
