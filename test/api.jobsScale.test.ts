// Jobs at scale (issue 15 item 4): a summary of how the assets ended (ok / failed / timed out /
// canceled), "partial" when some assets succeeded, the output of a running asset as it comes,
// "retry failed" as a new job on the failed assets only — under the same grants and filters —,
// and saved commands that admins keep and operators run where they are granted.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { JobEntity, OperationLogEntity } from '../core/db/entities/index.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { startSshd, sshdUnavailable, type Sshd } from './helpers/sshd.ts';
import { factories } from './helpers/factories.ts';
import { freePort } from './helpers/ports.ts';
import { cleanup } from './helpers/tmp.ts';

const skip = sshdUnavailable();

interface Result { asset: string; assetName: string; ok: boolean; exitCode: number | null; output: string; outcome: string }
interface JobBody { id: string; kind: string; status: string; params: Record<string, unknown>; summary: Record<string, number>; results: Result[] }

describe('jobs at scale: summary, partial, live output, retry failed, saved commands', { skip }, () => {
  let b: Bastion;
  let sshd: Sshd;
  let admin: ApiClient;
  let oscar: ApiClient;
  let audrey: ApiClient;
  let eve: ApiClient;
  const ids: Record<string, string> = {};

  const settled = async (id: string) => (await b.services.jobs.settled(id), (await admin.get(`/jobs/${id}`)).body as JobBody);
  const byName = (j: JobBody) => Object.fromEntries(j.results.map((r) => [r.assetName, r.outcome]));
  const jobRows = () => b.services.ds.getRepository(JobEntity).count();
  const opRows = () => b.services.ds.getRepository(OperationLogEntity).count();

  before(async () => {
    sshd = await startSshd();
    b = await startBastion();
    const f = factories(b.services);
    admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
    ids.up1 = (await f.asset({ name: 'up1', address: sshd.host, port: sshd.port })).id;
    ids.up2 = (await f.asset({ name: 'up2', address: sshd.host, port: sshd.port })).id;
    // Nothing listens there: the login is refused at once.
    ids.down = (await f.asset({ name: 'down', address: '127.0.0.1', port: await freePort() })).id;
    ids.su = (await f.systemUser({ name: 'scale-app', username: sshd.username, password: sshd.password })).id;
    const o = await f.user({ username: 'oscar', password: 'Blue-scale-1234' });
    await f.user({ username: 'audrey', password: 'Watch-scale-1234', role: 'auditor' });
    await f.user({ username: 'eve', password: 'Red-scale-12345' });
    ids.perm = (await f.permission({ name: 'oscar-all', users: [o.id], assets: [ids.up1, ids.up2, ids.down], systemUsers: [ids.su] })).id;
    ids.oscar = o.id;
    oscar = await loggedIn(b.baseUrl, 'oscar', 'Blue-scale-1234');
    audrey = await loggedIn(b.baseUrl, 'audrey', 'Watch-scale-1234');
    eve = await loggedIn(b.baseUrl, 'eve', 'Red-scale-12345');
  });
  after(async () => {
    await b?.services.jobs.stopAll();
    await b?.stop();
    await sshd?.stop();
    await cleanup();
  });

  test('a command that succeeds on some assets is "partial", with counts per outcome; a time-out is told apart', async () => {
    const r = await oscar.post('/jobs', { kind: 'command', assets: [ids.up1, ids.up2, ids.down], systemUser: ids.su, command: 'echo hi-$((1+1))' });
    assert.equal(r.status, 202);
    const job = await settled(r.body.id);
    assert.equal(job.status, 'partial');
    assert.deepEqual(job.summary, { ok: 2, failed: 1, timedOut: 0, canceled: 0, pending: 0 });
    assert.deepEqual(byName(job), { up1: 'ok', up2: 'ok', down: 'failed' });
    assert.equal(job.results.find((x) => x.assetName === 'up1')!.output, 'hi-2\n');
    const slow = await settled((await oscar.post('/jobs', { kind: 'command', assets: [ids.up1], systemUser: ids.su, command: 'sleep 30', timeoutSeconds: 1 })).body.id);
    assert.equal(slow.status, 'failed');
    assert.deepEqual(slow.summary, { ok: 0, failed: 0, timedOut: 1, canceled: 0, pending: 0 });
    assert.match(slow.results[0]!.output, /\[timed out after 1 s\]/);
    const partial = await admin.get('/jobs?status=partial');
    assert.deepEqual(partial.body.items.map((j: JobBody) => j.id), [job.id]);
    ids.partial = job.id;
  });

  test('a running asset shows its output so far, then its whole output', async () => {
    const r = await oscar.post('/jobs', { kind: 'command', assets: [ids.up1], systemUser: ids.su, command: 'echo first; sleep 3; echo second' });
    let seen: Result | undefined;
    for (let i = 0; i < 100 && !seen; i++) {
      const j = (await oscar.get(`/jobs/${r.body.id}`)).body as JobBody;
      seen = j.results.find((x) => x.outcome === 'running' && x.output === 'first\n');
      if (!seen) await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(seen, 'the running asset showed "first" before it ended');
    const done = await settled(r.body.id);
    assert.deepEqual(done.results.map((x) => [x.outcome, x.output]), [['ok', 'first\nsecond\n']]);
    assert.deepEqual(done.summary, { ok: 1, failed: 0, timedOut: 0, canceled: 0, pending: 0 });
  });

  test('retry failed: a new job on the failed assets only, by its starter; logged; others are refused and nothing changes', async () => {
    // Who may not: an auditor (reads jobs, starts none of others'), a user who cannot see it.
    const [jobs0, ops0] = [await jobRows(), await opRows()];
    const byAuditor = await audrey.post(`/jobs/${ids.partial}/retry`);
    assert.equal(byAuditor.status, 403);
    assert.equal(byAuditor.body.error.message, 'you may retry only the command jobs you started');
    const byEve = await eve.post(`/jobs/${ids.partial}/retry`);
    assert.equal(byEve.status, 404);
    assert.equal(byEve.body.error.message, 'job not found');
    assert.deepEqual([await jobRows(), await opRows()], [jobs0, ops0]);

    // The asset is back (its address fixed): the retry runs there, and only there.
    await b.services.assets.update(SYSTEM_ACTOR, ids.down!, { port: sshd.port });
    const r = await oscar.post(`/jobs/${ids.partial}/retry`);
    assert.equal(r.status, 202);
    assert.equal(r.body.params.retryOf, ids.partial);
    assert.deepEqual(r.body.params.assets, [ids.down]);
    const retried = await settled(r.body.id);
    assert.equal(retried.status, 'succeeded');
    assert.deepEqual(byName(retried), { down: 'ok' });
    const logged = await admin.get(`/audit/operations?action=run&resourceType=job`);
    assert.equal(logged.body.items[0].resourceId, r.body.id);
    assert.deepEqual(logged.body.items[0].changes.assets, ['down']);

    // Nothing failed in the retry: nothing to retry.
    const again = await oscar.post(`/jobs/${r.body.id}/retry`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.message, 'no asset failed in this job: nothing to retry');
  });

  test('a retry asks core/access again: once the permission no longer covers the failed asset, 403 and no job', async () => {
    await b.services.assets.update(SYSTEM_ACTOR, ids.down!, { port: await freePort() });
    const first = await settled((await oscar.post('/jobs', { kind: 'command', assets: [ids.up1, ids.down], systemUser: ids.su, command: 'true' })).body.id);
    assert.equal(first.status, 'partial');
    await b.services.permissions.update(SYSTEM_ACTOR, ids.perm!, { assets: [ids.up1!, ids.up2!] });
    const jobs0 = await jobRows();
    const r = await oscar.post(`/jobs/${first.id}/retry`);
    assert.equal(r.status, 403);
    // 'down' is no longer among his assets: not named.
    assert.equal(r.body.error.message, `you may not run commands on one of the chosen assets as ${sshd.username}`);
    assert.equal(await jobRows(), jobs0);
    await b.services.permissions.update(SYSTEM_ACTOR, ids.perm!, { assets: [ids.up1!, ids.up2!, ids.down!] });
  });

  test('jobs target labels: every asset carrying them, under the same grants', async () => {
    await b.services.assets.update(SYSTEM_ACTOR, ids.up1!, { labels: ['rack:r3'] });
    await b.services.assets.update(SYSTEM_ACTOR, ids.up2!, { labels: ['rack:r3', 'env:prod'] });
    const r = await oscar.post('/jobs', { kind: 'command', labels: ['rack:r3'], systemUser: ids.su, command: 'echo labelled' });
    assert.equal(r.status, 202);
    assert.deepEqual(r.body.params.labels, ['rack:r3']);
    const job = await settled(r.body.id);
    assert.deepEqual(byName(job), { up1: 'ok', up2: 'ok' });
    const none = await oscar.post('/jobs', { kind: 'command', labels: ['rack:r9'], systemUser: ids.su, command: 'true' });
    assert.equal(none.status, 400);
    assert.deepEqual([none.body.error.message, none.body.error.details.field], ['no asset carries these labels', 'labels']);
    // Eve is granted none of them: a label stands for her assets carrying it, none; nothing ran, nothing named.
    const jobs0 = await jobRows();
    const byEve = await eve.post('/jobs', { kind: 'command', labels: ['env:prod'], systemUser: ids.su, command: 'true' });
    assert.equal(byEve.status, 400);
    assert.equal(byEve.body.error.message, 'no asset carries these labels');
    assert.equal(await jobRows(), jobs0);
  });

  test('saved commands: admins keep them, operators list and run them where granted, through the filters', async () => {
    const created = await admin.post('/saved-commands', { name: 'answer', command: 'echo saved-$((40+2))', systemUser: ids.su, assets: [ids.up1], timeoutSeconds: 30 });
    assert.equal(created.status, 201);
    assert.deepEqual({ ...created.body, id: undefined, createdAt: undefined, updatedAt: undefined, createdBy: undefined },
      { id: undefined, name: 'answer', command: 'echo saved-$((40+2))', systemUser: ids.su, assets: [ids.up1], nodes: [], timeoutSeconds: 30, comment: '', createdAt: undefined, updatedAt: undefined, createdBy: undefined });
    const dup = await admin.post('/saved-commands', { name: 'answer', command: 'true', systemUser: ids.su });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.message, "a saved command named 'answer' exists");
    const unknownSu = await admin.post('/saved-commands', { name: 'x', command: 'true', systemUser: '5f0e3c4a-9b1d-4e2f-8a7c-6d5e4f3a2b1c' });
    assert.equal(unknownSu.status, 400);
    assert.equal(unknownSu.body.error.message, 'unknown system user');

    // An operator reads them and cannot change them.
    const listed = await oscar.get('/saved-commands');
    assert.deepEqual(listed.body.items.map((c: { name: string }) => c.name), ['answer']);
    const [jobs0, ops0] = [await jobRows(), await opRows()];
    for (const [method, path] of [['POST', '/saved-commands'], ['PATCH', `/saved-commands/${created.body.id}`], ['DELETE', `/saved-commands/${created.body.id}`]] as const) {
      const r = await oscar.request(method, path, method === 'DELETE' ? undefined : { name: 'mine', command: 'id', systemUser: ids.su });
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.equal(r.body.error.message, 'your role does not allow this');
    }
    // Eve has no permission on up1: refused, and nothing ran.
    const byEve = await eve.post(`/saved-commands/${created.body.id}/run`, {});
    assert.equal(byEve.status, 403);
    assert.equal(byEve.body.error.message, 'you may not run commands on one of the chosen assets as this system user');
    assert.deepEqual([await jobRows(), await opRows()], [jobs0, ops0]);

    // Oscar runs it on its default target, then on another one he chose.
    const run = await oscar.post(`/saved-commands/${created.body.id}/run`, {});
    assert.equal(run.status, 202);
    assert.equal(run.body.params.savedCommand, created.body.id);
    const ran = await settled(run.body.id);
    assert.deepEqual(ran.results.map((x) => [x.assetName, x.outcome, x.output]), [['up1', 'ok', 'saved-42\n']]);
    const elsewhere = await settled((await oscar.post(`/saved-commands/${created.body.id}/run`, { assets: [ids.up2] })).body.id);
    assert.deepEqual(elsewhere.results.map((x) => [x.assetName, x.outcome]), [['up2', 'ok']]);

    // The command filters hold for saved commands as for any job.
    const deny = await b.services.commandFilters.create(SYSTEM_ACTOR, { name: 'no-saved', kind: 'commands', pattern: 'echo', action: 'deny', users: [ids.oscar!] });
    const refused = await settled((await oscar.post(`/saved-commands/${created.body.id}/run`, {})).body.id);
    assert.deepEqual(refused.results.map((x) => [x.outcome, x.output]), [['failed', "refused by command filter 'no-saved'; nothing ran"]]);
    await b.services.commandFilters.remove(SYSTEM_ACTOR, deny.id);

    const patched = await admin.patch(`/saved-commands/${created.body.id}`, { command: 'echo patched' });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.command, 'echo patched');
    assert.equal((await admin.delete(`/saved-commands/${created.body.id}`)).status, 204);
    assert.equal((await oscar.get(`/saved-commands/${created.body.id}`)).status, 404);
  });
});
