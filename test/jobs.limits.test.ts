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

const skip = sshdUnavailable();

describe('running jobs count toward the per-user session limit', { skip }, () => {
  let b: Bastion;
  let sshd: Sshd;
  let op: ApiClient;
  let userId: string;
  const assets: string[] = [];
  let su: string;

  before(async () => {
    sshd = await startSshd();
    b = await startBastion({ env: { BASTION_MAX_SESSIONS_PER_USER: '3' } });
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
    await cleanup();
  });

  test('a job over two assets counts two, one over one asset one; the next is refused with 409 session_limit_reached and no job row, and runs once one ends', async () => {
    const start = (ids: string[]) => op.post('/jobs', { kind: 'command', assets: ids, systemUser: su, command: 'sleep 30' });
    const two = await start(assets);
    assert.equal(two.status, 202, JSON.stringify(two.body));
    const one = await start([assets[0]!]);
    assert.equal(one.status, 202, JSON.stringify(one.body));
    const refused = await start([assets[1]!]);
    assert.equal(refused.status, 409);
    assert.deepEqual([refused.body.error.details.reason, refused.body.error.details.limit], ['session_limit_reached', 3]);
    assert.equal(await b.services.ds.getRepository(JobEntity).countBy({ createdBy: userId }), 2, 'the refused job left no row');
    assert.equal((await op.post(`/jobs/${one.body.id}/cancel`)).status, 200);
    const next = await start([assets[1]!]);
    assert.equal(next.status, 202, JSON.stringify(next.body));
    for (const id of [two.body.id, next.body.id]) assert.equal((await op.post(`/jobs/${id}/cancel`)).status, 200);
  });
});
