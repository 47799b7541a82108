import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { unsafeYaml } from '../core/ops/ansible.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { startSshd, sshdUnavailable, type Sshd } from './helpers/sshd.ts';
import { freePort } from './helpers/ports.ts';
import { factories } from './helpers/factories.ts';
import { cleanup } from './helpers/tmp.ts';
import { eventually } from './gatewayFixture.ts';

const PUSHED = 'bpushed';
let b: Bastion;
let admin: ApiClient;
let sshd: Sshd;
let f: ReturnType<typeof factories>;
const ids: Record<string, string> = {};

before(async () => {
  if (sshdUnavailable()) return;
  // Root may log in with the helper's key: pushing accounts needs a privileged admin user.
  sshd = await startSshd({ extraConfig: ['PermitRootLogin prohibit-password'] });
  b = await startBastion({ gateway: true });
  admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  f = factories(b.services);
  ids.rootAdmin = (await admin.post('/admin-users', { name: 'root-key', username: 'root', privateKey: sshd.privateKey })).body.id;
  ids.pwAdmin = (await admin.post('/admin-users', { name: 'test-pw', username: sshd.username, password: sshd.password })).body.id;
  ids.badAdmin = (await admin.post('/admin-users', { name: 'wrong-pw', username: sshd.username, password: 'not-the-password' })).body.id;
  ids.node = (await admin.post('/nodes', { name: 'ops' })).body.id;
  ids.asset = (await admin.post('/assets', { name: 'loop', address: '127.0.0.1', port: sshd.port, adminUser: ids.rootAdmin, nodes: [ids.node] })).body.id;
  ids.down = (await admin.post('/assets', { name: 'down', address: '127.0.0.1', port: await freePort(), adminUser: ids.pwAdmin, nodes: [ids.node] })).body.id;
  ids.su = (await admin.post('/system-users', { name: 'test-account', username: sshd.username, password: sshd.password })).body.id;
});

after(async () => {
  await b?.stop();
  await sshd?.stop();
  try { execFileSync('userdel', ['-r', PUSHED], { stdio: 'ignore' }); } catch { /* not created */ }
  execFileSync('rm', ['-f', `/etc/sudoers.d/bastion-${PUSHED}`]);
  await cleanup();
});

const skip = (t: { skip: (m: string) => void }) => { const r = sshdUnavailable(); if (r) t.skip(r); return Boolean(r); };

async function waitJob(id: string) {
  for (let i = 0; i < 600; i++) {
    const j = (await admin.get(`/jobs/${id}`)).body;
    if (!['queued', 'running'].includes(j.status)) return j;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('job did not finish');
}

test('connectivity test: ok with latency, and the result is stored on the asset', async (t) => {
  if (skip(t)) return;
  const r = await admin.post(`/assets/${ids.asset}/test`);
  assert.equal(r.status, 200);
  assert.equal(r.body.ok, true, r.body.message);
  assert.equal(typeof r.body.latencyMs, 'number');
  const asset = (await admin.get(`/assets/${ids.asset}`)).body;
  assert.equal(asset.lastTest.ok, true);
  assert.ok((await admin.get(`/assets/${ids.asset}/host-key`)).body.fingerprint, 'the host key was pinned');
});

test('connectivity test: a closed port and a wrong password each get their own message, quickly', async (t) => {
  if (skip(t)) return;
  const closed = (await admin.post(`/assets/${ids.down}/test`)).body;
  assert.equal(closed.ok, false);
  assert.match(closed.message, /connection refused/);
  const wrongPw = await admin.patch(`/assets/${ids.asset}`, { adminUser: ids.badAdmin });
  assert.equal(wrongPw.status, 200);
  const denied = (await admin.post(`/assets/${ids.asset}/test`)).body;
  assert.equal(denied.ok, false);
  assert.match(denied.message, /authentication failed/);
  await admin.patch(`/assets/${ids.asset}`, { adminUser: ids.rootAdmin });
  const viaSu = (await admin.post(`/assets/${ids.asset}/test`, { systemUser: ids.su })).body;
  assert.equal(viaSu.ok, true, viaSu.message);
});

test('a node test runs as a job with a result per asset', async (t) => {
  if (skip(t)) return;
  const started = await admin.post(`/nodes/${ids.node}/test`);
  assert.equal(started.status, 202);
  const job = await waitJob(started.body.id);
  assert.equal(job.kind, 'connectivity');
  assert.equal(job.status, 'partial', 'one asset is down, one up');
  const byName = Object.fromEntries(job.results.map((r: { assetName: string; ok: boolean }) => [r.assetName, r.ok]));
  assert.deepEqual(byName, { down: false, loop: true });
});

test('facts are gathered by the real ansible-playbook and stored on the asset', async (t) => {
  if (skip(t)) return;
  const started = await admin.post(`/assets/${ids.asset}/facts`);
  assert.equal(started.status, 202);
  const job = await waitJob(started.body.id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job.results));
  const asset = (await admin.get(`/assets/${ids.asset}`)).body;
  assert.ok(asset.facts.os, 'os');
  assert.ok(asset.facts.cpuCount >= 1, 'cpu count');
  assert.ok(asset.facts.memoryMb > 0, 'memory');
  assert.ok(asset.facts.disks.length >= 1, 'disks');
  assert.ok(asset.facts.kernel, 'kernel');
  assert.ok(asset.factsAt);
});

test('facts with a password admin user go through sshpass', async (t) => {
  if (skip(t)) return;
  const pwAsset = (await admin.post('/assets', { name: 'loop-pw', address: '127.0.0.1', port: sshd.port, adminUser: ids.pwAdmin })).body;
  const job = await waitJob((await admin.post(`/assets/${pwAsset.id}/facts`)).body.id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job.results));
});

test('pushing a system user creates a real account with its key and sudo rule, usable through the gateway', async (t) => {
  if (skip(t)) return;
  const su = (await admin.post('/system-users', {
    name: 'pushed', username: PUSHED, password: 'Pushed-pass-{{ 7*7 }}', privateKey: sshd.privateKey, sudo: '/usr/bin/id',
  })).body;
  const started = await admin.post(`/system-users/${su.id}/push`, { assets: [ids.asset] });
  assert.equal(started.status, 202);
  const job = await waitJob(started.body.id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job.results));
  assert.match(execFileSync('getent', ['passwd', PUSHED]).toString(), new RegExp(`^${PUSHED}:`));
  assert.match(execFileSync('cat', [`/etc/sudoers.d/bastion-${PUSHED}`]).toString(), new RegExp(`^${PUSHED} ALL=\\(ALL\\) NOPASSWD: /usr/bin/id`));
  // The account works through the gateway for an operator granted it.
  const op = await f.user({ username: 'pusher', password: 'Operator-pass-1' });
  await f.permission({ users: [op.id], assets: [ids.asset], systemUsers: [su.id] });
  const { Client } = (await import('ssh2')).default;
  const out = await new Promise<string>((resolve, reject) => {
    const c = new Client();
    c.on('ready', () => c.exec('id -un', (err, stream) => {
      if (err) { reject(err); return; }
      let s = '';
      stream.on('data', (d: Buffer) => { s += d; }).on('close', () => { c.end(); resolve(s.trim()); });
    })).on('error', reject).connect({ host: '127.0.0.1', port: b.sshPort, username: 'pusher@loop', password: 'Operator-pass-1', readyTimeout: 20000 });
  });
  assert.equal(out, PUSHED);
});

test('a batch command over two assets reports per asset; one is down', async (t) => {
  if (skip(t)) return;
  const r = await admin.post('/jobs', { kind: 'command', nodes: [ids.node], systemUser: ids.su, command: 'echo hello-$((6*7)); exit 3' });
  assert.equal(r.status, 202);
  const job = await waitJob(r.body.id);
  const loop = job.results.find((x: { assetName: string }) => x.assetName === 'loop');
  const down = job.results.find((x: { assetName: string }) => x.assetName === 'down');
  assert.equal(loop.exitCode, 3);
  assert.match(loop.output, /hello-42/);
  assert.equal(down.ok, false);
  assert.match(down.output, /refused/);
  const ops = (await admin.get('/audit/operations?resourceType=job')).body.items;
  assert.ok(ops.some((o: { resourceId: string }) => o.resourceId === r.body.id), 'the run is audited');
});

test('template-looking text reaches the target literally, never evaluated by Ansible or the bastion', async (t) => {
  if (skip(t)) return;
  const cmd = "printf '%s|%s' '{{ 7*7 }}' \"{{ lookup('pipe','id') }}\"";
  const job = await waitJob((await admin.post('/jobs', { kind: 'command', assets: [ids.asset], systemUser: ids.su, command: cmd })).body.id);
  assert.equal(job.results[0].output, "{{ 7*7 }}|{{ lookup('pipe','id') }}");
  assert.equal(unsafeYaml({ a: '{{ 7*7 }}' }), '\na: !unsafe "{{ 7*7 }}"');
  assert.throws(() => unsafeYaml({ 'bad key: x': 1 }));
});

test('a user cannot run commands on an asset not granted; with a grant they can', async (t) => {
  if (skip(t)) return;
  const u = await f.user({ username: 'runner', password: 'Batch-cmd-pass-1' });
  const c = await loggedIn(b.baseUrl, 'runner', 'Batch-cmd-pass-1');
  const denied = await c.post('/jobs', { kind: 'command', assets: [ids.asset], systemUser: ids.su, command: 'id' });
  assert.equal(denied.status, 403);
  await b.services.permissions.create(SYSTEM_ACTOR, { name: 'runner-loop', users: [u.id], assets: [ids.asset], systemUsers: [ids.su], actions: ['connect'] });
  const ok = await c.post('/jobs', { kind: 'command', assets: [ids.asset], systemUser: ids.su, command: 'id -un' });
  assert.equal(ok.status, 202);
  const job = await b.services.jobs.settled(ok.body.id);
  assert.equal(job.results[0]!.output.trim(), sshd.username);
  assert.equal((await c.get(`/jobs/${ok.body.id}`)).status, 200);
  const others = (await c.get('/jobs')).body.items;
  assert.ok(others.every((j: { createdBy: string }) => j.createdBy === u.id), 'users see only their own jobs');
});

test('a running job can be cancelled, and its command is gone from the asset; jobs left running by a dead process are failed at start', async (t) => {
  if (skip(t)) return;
  // A command as operators write them (a shell around a child), reporting both pids: shell and child.
  const marker = `/tmp/bastion-cancel-${randomUUID()}`;
  const r = await admin.post('/jobs', { kind: 'command', assets: [ids.asset], systemUser: ids.su, command: `sleep 2999 & echo $$ $! > ${marker}; wait` });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const pids = await eventually(() => readFile(marker, 'utf8').then((x) => x.trim().split(' ').map(Number), () => [] as number[]), (p) => p.length === 2, 20_000);
  assert.equal(pids.length, 2, 'the command started on the asset');
  const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
  try {
    assert.deepEqual(pids.map(alive), [true, true]);
    // The child may still be between fork and exec when its pid is written.
    const cmdline = await eventually(async () => readFileSync(`/proc/${pids[1]}/cmdline`, 'utf8'), (c) => c.startsWith('sleep\x00'), 5000);
    assert.match(cmdline, /^sleep\x002999/);
    // Bounded: a cancel that waits for the remote command to end on its own would wait 50 minutes.
    let stuck: NodeJS.Timeout | undefined;
    const canceled = await Promise.race([
      admin.post(`/jobs/${r.body.id}/cancel`),
      new Promise<never>((_, reject) => { stuck = setTimeout(() => reject(new Error('cancel did not return: the remote command keeps the job running')), 20_000); }),
    ]).finally(() => clearTimeout(stuck));
    assert.equal(canceled.status, 200);
    assert.equal(canceled.body.status, 'canceled');
    const left = await eventually(async () => pids.filter(alive), (p) => p.length === 0, 10_000);
    assert.deepEqual(left, [], 'the canceled command still runs on the asset');
  } finally {
    // Whatever happened, the test's own remote processes go (by pid), so the job and the suite can end.
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    rmSync(marker, { force: true });
  }
  // As a process that died while the job ran leaves it: running, no longer marked.
  await b.services.ds.query(`UPDATE job SET status = 'running', heartbeat_at = 0 WHERE id = '${r.body.id}'`);
  assert.equal(await b.services.jobs.failInterrupted(), 1);
  assert.equal((await admin.get(`/jobs/${r.body.id}`)).body.status, 'failed');
});
