// Jobs run by operators (POST /jobs) are held to the controls of an SSH session (issue 11,
// rules 11 and 12): the command filters are asked for each asset before anything runs, the
// job's per-asset results are an audit record auditors can read, and a running job ends — its
// command killed on the asset — when its starter is disabled or loses the permission.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { startSshd, sshdUnavailable, type Sshd } from './helpers/sshd.ts';
import { factories } from './helpers/factories.ts';
import { cleanup } from './helpers/tmp.ts';
import { eventually } from './gatewayFixture.ts';

const skip = sshdUnavailable();

interface JobBody {
  id: string;
  status: string;
  log: string;
  createdBy: string;
  results: Array<{ asset: string; assetName: string; ok: boolean; exitCode: number | null; output: string }>;
}

describe('jobs run by operators go through the command filters and rule 11', { skip }, () => {
  let b: Bastion;
  let sshd: Sshd;
  let admin: ApiClient;
  let f: ReturnType<typeof factories>;
  let seq = 0;
  const ids: Record<string, string> = {};
  const markers: string[] = [];
  const marker = (what: string) => {
    const path = `/tmp/bastion-jobguard-${process.pid}-${what}-${++seq}`;
    markers.push(path);
    return path;
  };
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  async function operator(): Promise<{ id: string; username: string; api: ApiClient; permissionId: string }> {
    const username = `jobop${++seq}`;
    const password = `Job-guard-pass-${seq}`;
    const u = await f.user({ username, password });
    const p = await b.services.permissions.create(SYSTEM_ACTOR, { name: `jobs-${username}`, users: [u.id], assets: [ids.web!, ids.db!], systemUsers: [ids.su!], actions: ['connect'] });
    return { id: u.id, username, api: await loggedIn(b.baseUrl, username, password), permissionId: p.id };
  }
  async function finished(id: string): Promise<JobBody> {
    return (await b.services.jobs.settled(id)) as unknown as JobBody;
  }

  before(async () => {
    sshd = await startSshd();
    b = await startBastion();
    f = factories(b.services);
    admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
    // Two assets on the same loopback sshd, so a filter can be scoped to one of them.
    ids.web = (await f.asset({ name: 'jobweb', address: sshd.host, port: sshd.port })).id;
    ids.db = (await f.asset({ name: 'jobdb', address: sshd.host, port: sshd.port })).id;
    ids.su = (await f.systemUser({ name: 'job-app', username: sshd.username, password: sshd.password })).id;
  });
  after(async () => {
    for (const m of markers) rmSync(m, { recursive: true, force: true });
    await b?.stop();
    await sshd?.stop();
    await cleanup();
  });

  test('a denied command is refused per asset before anything runs, with the filter named', async () => {
    const op = await operator();
    const deny = await b.services.commandFilters.create(SYSTEM_ACTOR, { name: `deny-touch-${++seq}`, kind: 'commands', pattern: 'touch', action: 'deny', users: [op.id], assets: [ids.db!] });
    const path = marker('deny');
    // The command runs on jobweb and makes this file there (same host).
    markers.push(`${path}-x`);
    const r = await op.api.post('/jobs', { kind: 'command', assets: [ids.web, ids.db], systemUser: ids.su, command: `touch ${path}-$(hostname -s >/dev/null; echo x)` });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const job = await finished(r.body.id);
    const byName = Object.fromEntries(job.results.map((x) => [x.assetName, x]));
    // The filter is scoped to jobdb: refused there, run on jobweb.
    assert.equal(byName.jobdb?.ok, false);
    assert.equal(byName.jobdb?.exitCode, null);
    assert.equal(byName.jobdb?.output, `refused by command filter '${deny.name}'; nothing ran`);
    assert.equal(byName.jobweb?.ok, true, byName.jobweb?.output);
    assert.equal(job.status, 'partial');

    // Everywhere: nothing runs at all.
    await b.services.commandFilters.create(SYSTEM_ACTOR, { name: `deny-mkdir-${++seq}`, kind: 'commands', pattern: 'mkdir', action: 'deny', users: [op.id] });
    const dir = marker('deny-all');
    const all = await finished((await op.api.post('/jobs', { kind: 'command', assets: [ids.web, ids.db], systemUser: ids.su, command: `mkdir ${dir}` })).body.id);
    assert.deepEqual(all.results.map((x) => [x.assetName, x.ok, /^refused by command filter 'deny-mkdir-\d+'; nothing ran$/.test(x.output)]), [['jobdb', false, true], ['jobweb', false, true]]);
    assert.equal(existsSync(dir), false, 'the denied command did not run');
  });

  test('a confirm filter holds the job where it applies until an administrator decides: one request per job; approved runs, rejected and canceled do not', async () => {
    const op = await operator();
    const held = await b.services.commandFilters.create(SYSTEM_ACTOR, { name: `confirm-mkdir-${++seq}`, kind: 'commands', pattern: 'mkdir', action: 'confirm', users: [op.id], assets: [ids.db!] });
    type Pending = { id: string; jobId: string | null; sessionId: string | null; username: string; assetName: string; command: string; filter: string };
    const pendingFor = async (jobId: string) => {
      const list = await eventually(() => admin.get('/command-confirmations'), (r) => (r.body.items as Pending[]).some((c) => c.jobId === jobId), 15_000);
      return (list.body.items as Pending[]).filter((c) => c.jobId === jobId);
    };

    // Approved: jobweb (not held) runs at once, jobdb waits, says so while it waits, then runs.
    const dirs = [marker('confirm-ok'), marker('confirm-ok')];
    const r = await op.api.post('/jobs', { kind: 'command', assets: [ids.web, ids.db], systemUser: ids.su, command: `mkdir ${dirs[0]}-$(echo $$) && echo made` });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const [request, ...more] = await pendingFor(r.body.id);
    assert.equal(more.length, 0, 'one request for the job');
    assert.deepEqual([request!.sessionId, request!.username, request!.assetName, request!.filter], [null, op.username, 'jobdb', held.name]);
    const waiting = await eventually(() => op.api.get(`/jobs/${r.body.id}`), (x) => (x.body.results as Array<{ assetName: string; output: string; running?: boolean }>).some((y) => y.assetName === 'jobdb' && y.running === true && y.output.startsWith('waiting for an administrator')), 10_000);
    assert.equal((waiting.body.results as Array<{ assetName: string; output: string }>).find((y) => y.assetName === 'jobdb')?.output, `waiting for an administrator to confirm this command (command filter '${held.name}')`);
    assert.equal((await admin.post(`/command-confirmations/${request!.id}/approve`)).status, 204);
    const approved = await finished(r.body.id);
    const byName = Object.fromEntries(approved.results.map((x) => [x.assetName, x]));
    assert.equal(byName.jobweb?.output, 'made\n');
    assert.equal(byName.jobdb?.output, `[confirmed by admin (command filter '${held.name}')]\nmade\n`);
    assert.equal(approved.status, 'succeeded');
    const log = await admin.get(`/audit/operations?resourceType=job&action=approve_command&limit=5`);
    assert.ok((log.body.items as Array<{ resourceId: string }>).some((e) => e.resourceId === r.body.id), 'the approval is logged against the job');

    // Rejected: nothing runs where it was held.
    const rejectDir = marker('confirm-rejected');
    const r2 = await op.api.post('/jobs', { kind: 'command', assets: [ids.db], systemUser: ids.su, command: `mkdir ${rejectDir}` });
    const [request2] = await pendingFor(r2.body.id);
    assert.equal((await admin.post(`/command-confirmations/${request2!.id}/reject`)).status, 204);
    const rejected = await finished(r2.body.id);
    assert.deepEqual(rejected.results.map((x) => [x.assetName, x.ok, x.exitCode, x.output]), [['jobdb', false, null, `refused: admin rejected this command (command filter '${held.name}'); nothing ran`]]);
    assert.equal(existsSync(rejectDir), false, 'the rejected command did not run');

    // Canceled while it waits: the request is withdrawn, nothing runs.
    const cancelDir = marker('confirm-canceled');
    const r3 = await op.api.post('/jobs', { kind: 'command', assets: [ids.db], systemUser: ids.su, command: `mkdir ${cancelDir}` });
    await pendingFor(r3.body.id);
    assert.equal((await op.api.post(`/jobs/${r3.body.id}/cancel`)).status, 200);
    const canceled = await finished(r3.body.id);
    assert.deepEqual(canceled.results.map((x) => [x.ok, x.output]), [[false, 'canceled while it waited for an administrator; nothing ran']]);
    const after = await eventually(() => admin.get('/command-confirmations'), (x) => !(x.body.items as Pending[]).some((c) => c.jobId === r3.body.id), 5000);
    assert.equal((after.body.items as Pending[]).some((c) => c.jobId === r3.body.id), false, 'the request is withdrawn');
    assert.equal(existsSync(cancelDir), false);
  });

  test('a job held for confirmation: its starter losing the permission withdraws the request (rule 11), nothing runs; a retry of a rejected job asks again', async () => {
    const op = await operator();
    const held = await b.services.commandFilters.create(SYSTEM_ACTOR, { name: `confirm-touch-${++seq}`, kind: 'commands', pattern: 'touch', action: 'confirm', users: [op.id], assets: [ids.db!] });
    const requestsOf = (jobId: string) => b.services.confirmations.pending().filter((c) => c.jobId === jobId);
    const heldRequest = async (jobId: string) => (await eventually(async () => requestsOf(jobId), (l) => l.length === 1, 15_000))[0]!;

    // Rejected, then retried: the retry is held again (a new request), and runs once approved.
    const retried = marker('confirm-retried');
    const r1 = await op.api.post('/jobs', { kind: 'command', assets: [ids.db], systemUser: ids.su, command: `touch ${retried}` });
    assert.equal((await admin.post(`/command-confirmations/${(await heldRequest(r1.body.id)).id}/reject`)).status, 204);
    assert.equal((await finished(r1.body.id)).status, 'failed');
    const r2 = await op.api.post(`/jobs/${r1.body.id}/retry`);
    assert.equal(r2.status, 202, JSON.stringify(r2.body));
    const again = await heldRequest(r2.body.id);
    assert.equal(existsSync(retried), false, 'the retry waits too');
    assert.equal((await admin.post(`/command-confirmations/${again.id}/approve`)).status, 204);
    assert.deepEqual((await finished(r2.body.id)).results.map((x) => [x.ok, x.output]), [[true, `[confirmed by admin (command filter '${held.name}')]\n`]]);
    assert.equal(existsSync(retried), true);

    // The permission goes while the job waits: the job is canceled, its request withdrawn, nothing runs.
    const revoked = marker('confirm-revoked');
    const r3 = await op.api.post('/jobs', { kind: 'command', assets: [ids.db], systemUser: ids.su, command: `touch ${revoked}` });
    const request = await heldRequest(r3.body.id);
    assert.equal((await admin.patch(`/permissions/${op.permissionId}`, { active: false })).status, 200);
    assert.deepEqual(await eventually(async () => requestsOf(r3.body.id), (l) => l.length === 0, 5000), [], 'the request is withdrawn');
    const job = await finished(r3.body.id);
    assert.equal(job.status, 'canceled');
    assert.deepEqual(job.results.map((x) => [x.ok, x.output]), [[false, 'canceled while it waited for an administrator; nothing ran']]);
    const late = await admin.post(`/command-confirmations/${request.id}/approve`);
    assert.deepEqual([late.status, late.body.error.details.reason], [409, 'confirmation_closed']);
    assert.equal(existsSync(revoked), false);
  });

  test('auditors list and read every job, and cannot cancel one', async () => {
    const op = await operator();
    const job = await finished((await op.api.post('/jobs', { kind: 'command', assets: [ids.web], systemUser: ids.su, command: 'echo audited-$((20+22))' })).body.id);
    assert.equal(job.results[0]?.output.trim(), 'audited-42');
    await f.user({ username: `auditor${++seq}`, password: 'Auditor-pass-123', role: 'auditor' });
    const auditor = await loggedIn(b.baseUrl, `auditor${seq}`, 'Auditor-pass-123');
    const list = await auditor.get('/jobs?limit=200');
    assert.equal(list.status, 200);
    assert.ok(list.body.items.some((j: JobBody) => j.id === job.id && j.createdBy === op.id), 'the operator\'s job is listed for the auditor');
    const read = await auditor.get(`/jobs/${job.id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.results[0].output.trim(), 'audited-42');
    const running = await op.api.post('/jobs', { kind: 'command', assets: [ids.web], systemUser: ids.su, command: 'sleep 30' });
    const refused = await auditor.post(`/jobs/${running.body.id}/cancel`);
    assert.equal(refused.status, 403);
    assert.equal((await op.api.post(`/jobs/${running.body.id}/cancel`)).status, 200);
    // Another operator still sees only their own jobs.
    const other = await operator();
    const mine = (await other.api.get('/jobs')).body.items as JobBody[];
    assert.ok(mine.every((j) => j.createdBy === other.id));
  });

  for (const how of ['disabled', 'permission removed', 'locked'] as const) {
    test(`a job runs no longer than its operator may run it: ${how} → canceled, the command gone from the asset`, async () => {
      const op = await operator();
      const path = `/tmp/bastion-jobguard-${randomUUID()}`;
      markers.push(path);
      const r = await op.api.post('/jobs', { kind: 'command', assets: [ids.web], systemUser: ids.su, command: `sleep 2999 & echo $$ $! > ${path}; wait` });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      const pids = await eventually(() => readFile(path, 'utf8').then((x) => x.trim().split(' ').map(Number), () => [] as number[]), (p) => p.length === 2, 20_000);
      assert.equal(pids.length, 2, 'the command started on the asset');
      try {
        assert.deepEqual(pids.map(alive), [true, true]);
        await eventually(async () => readFileSync(`/proc/${pids[1]}/cmdline`, 'utf8'), (c) => c.startsWith('sleep\x00'), 5000);
        if (how === 'disabled') assert.equal((await admin.patch(`/users/${op.id}`, { active: false })).status, 200);
        else if (how === 'locked') assert.equal((await admin.post(`/users/${op.id}/lock`, {})).status, 200);
        else assert.equal((await admin.patch(`/permissions/${op.permissionId}`, { active: false })).status, 200);
        const job = await eventually(() => b.services.jobs.get(r.body.id), (j) => j.status !== 'running' && j.status !== 'queued', 15_000);
        assert.equal(job.status, 'canceled');
        const why = how === 'disabled' ? `${op.username} was disabled` : how === 'locked' ? `${op.username} was locked` : `${op.username} may no longer run commands on 'jobweb' as ${sshd.username}`;
        assert.match(job.log, new RegExp(`canceled: ${why.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n$`));
        type Op = { action: string; resourceId: string; actor: { username: string }; changes: { reason?: string } };
        const cancelOf = (ops: Op[]) => ops.find((o) => o.action === 'cancel' && o.resourceId === r.body.id);
        const ops = await eventually(async () => (await admin.get('/audit/operations?limit=200')).body.items as Op[], (o) => Boolean(cancelOf(o)), 5000);
        const logged = cancelOf(ops);
        assert.deepEqual(logged && [logged.actor.username, logged.changes.reason], ['system', why], 'the automatic cancel is in the operation log');
        const left = await eventually(async () => pids.filter(alive), (p) => p.length === 0, 10_000);
        assert.deepEqual(left, [], 'the canceled command still runs on the asset');
      } finally {
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
    });
  }
});
