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

  test('a denied command is refused per asset before anything runs, with the filter named; a confirm filter refuses too', async () => {
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

    const held = await b.services.commandFilters.create(SYSTEM_ACTOR, { name: `confirm-rmdir-${++seq}`, kind: 'commands', pattern: 'rmdir', action: 'confirm', users: [op.id] });
    const confirm = await finished((await op.api.post('/jobs', { kind: 'command', assets: [ids.web], systemUser: ids.su, command: `rmdir /tmp/nothing-${seq}` })).body.id);
    assert.equal(confirm.results[0]?.ok, false);
    assert.match(confirm.results[0]!.output, new RegExp(`^refused: command filter '${held.name}' asks an administrator to confirm this command, which a job cannot wait for`));
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
