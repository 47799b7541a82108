// A canceled or timed-out command job runs nothing to its end (rule 11). OpenSSH delivers a
// "signal" request with killpg() on the session's pid, and that process group exists only once
// sshd's child has called setsid() after its fork: a KILL that lands before is lost, and the
// command used to run on the asset to its end. The backend sshd here holds that child at a gate
// before setsid(), so the first KILL is certain to miss; the test opens the gate only once sshd
// has logged the miss.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { startSshd, sshdUnavailable, type Sshd } from './helpers/sshd.ts';
import { makeSetsidGate, setsidGateUnavailable, type SetsidGate } from './helpers/setsidGate.ts';
import { factories } from './helpers/factories.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { postgresForFile } from './helpers/postgres.ts';
import { eventually } from './gatewayFixture.ts';

const skip = sshdUnavailable() ?? setsidGateUnavailable();
const postgres = postgresForFile();
/** Files the commands would make: removed at the end. */
const markers: string[] = [];
after(() => {
  for (const m of markers) rmSync(m, { force: true });
  return cleanup();
});
/** How long the command sleeps before it makes its marker. */
const COMMAND_SECONDS = 1;

interface JobBody {
  status: string;
  results: Array<{ outcome: string; output: string }>;
}

describe('a canceled or timed-out command job is killed even when its first KILL misses', { skip }, () => {
  let b: Bastion;
  let sshd: Sshd;
  let gate: SetsidGate;
  let admin: ApiClient;
  let asset: string;
  let su: string;
  let seq = 0;

  /** How many times sshd has logged `what` so far. */
  const logged = (what: string) => sshd.log().split(what).length - 1;
  const waitLogged = async (what: string, count: number) => {
    await eventually(async () => logged(what), (n) => n >= count, 15_000);
    assert.ok(logged(what) >= count, `sshd never logged '${what}' (${count}):\n${sshd.log().slice(-2000)}`);
  };
  /** Starts a job whose command would make a marker file, held before its process group exists. */
  const startHeld = async (timeoutSeconds?: number) => {
    const made = `/tmp/bastion-jobkill-${process.pid}-${++seq}`;
    markers.push(made);
    const sessions = logged('Starting session: command');
    gate.close();
    const r = await admin.post('/jobs', { kind: 'command', assets: [asset], systemUser: su, command: `sleep ${COMMAND_SECONDS} && touch ${made}`, ...(timeoutSeconds ? { timeoutSeconds } : {}) });
    assert.equal(r.status, 202);
    await waitLogged('Starting session: command', sessions + 1);
    return { id: r.body.id as string, made };
  };
  /** Opens the gate once sshd has refused a KILL (`killpg(…): No such process`): the first one missed. */
  const openAfterMissedKill = async (missedBefore: number) => {
    await waitLogged('No such process', missedBefore + 1);
    gate.open();
  };
  /** The marker is absent once the command would have made it. */
  const ranNothing = async (made: string) => {
    await sleep(COMMAND_SECONDS * 1000 + 500);
    assert.equal(existsSync(made), false, 'the command ran to its end on the asset');
  };

  before(async () => {
    gate = await makeSetsidGate();
    sshd = await startSshd({ env: gate.env });
    b = await startBastion();
    const f = factories(b.services);
    admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
    asset = (await f.asset({ name: 'killweb', address: sshd.host, port: sshd.port })).id;
    su = (await f.systemUser({ name: 'kill-app', username: sshd.username, password: sshd.password })).id;
  });
  after(async () => {
    gate?.open();
    await b?.stop();
    await sshd?.stop();
  });

  test('a cancel that reaches the asset before the command has its process group still kills the command: job and result canceled, nothing made', async () => {
    const missed = logged('No such process');
    const job = await startHeld();
    const canceling = admin.post(`/jobs/${job.id}/cancel`);
    await openAfterMissedKill(missed);
    const canceled = await canceling;
    assert.equal(canceled.status, 200);
    const body = canceled.body as unknown as JobBody;
    assert.deepEqual([body.status, body.results.map((r) => r.outcome)], ['canceled', ['canceled']], JSON.stringify(body.results));
    await ranNothing(job.made);
  });

  test('a time limit that strikes before the command has its process group still kills the command: result timedOut, nothing made', async () => {
    const missed = logged('No such process');
    const job = await startHeld(1);
    await openAfterMissedKill(missed);
    const done = (await b.services.jobs.settled(job.id)) as unknown as JobBody;
    assert.deepEqual([done.status, done.results.map((r) => r.outcome)], ['failed', ['timedOut']], JSON.stringify(done.results));
    await ranNothing(job.made);
  });
});

describe('a cancel that reaches a server process other than the one running the job (PostgreSQL) still cancels it', { skip: sshdUnavailable() }, () => {
  let runner: Bastion;
  let other: Bastion;
  let sshd: Sshd;
  let admin: ApiClient;
  let adminOther: ApiClient;
  let asset: string;
  let su: string;
  let shared: { dataDir: string; env: Record<string, string> };

  before(async () => {
    if (!postgres.pg) return;
    sshd = await startSshd();
    // Two `bastion server` processes on one database (and its bus), as behind a load balancer.
    shared = { dataDir: makeTempDir('bastion-jobkill-pg-'), env: { DATABASE_URL: postgres.pg.url } };
    runner = await startBastion(shared);
    other = await startBastion(shared);
    const f = factories(runner.services);
    admin = await loggedIn(runner.baseUrl, 'admin', ADMIN_PASSWORD);
    adminOther = await loggedIn(other.baseUrl, 'admin', ADMIN_PASSWORD);
    asset = (await f.asset({ name: 'killpg', address: sshd.host, port: sshd.port })).id;
    su = (await f.systemUser({ name: 'killpg-app', username: sshd.username, password: sshd.password })).id;
  });
  after(async () => {
    await other?.stop();
    await runner?.stop();
    await sshd?.stop();
  });

  test('POST /jobs/:id/cancel on the other server: 200, the job and its result canceled, the command gone', async (t) => {
    if (!runner) return t.skip(postgres.skip);
    const made = `/tmp/bastion-jobkill-${process.pid}-elsewhere`;
    const go = `${made}-go`;
    markers.push(made, go);
    // Waits for the test's word (at most 30 s) before it makes its marker: the cancel cannot come too late.
    const r = await admin.post('/jobs', { kind: 'command', assets: [asset], systemUser: su, command: `echo started; for i in $(seq 300); do [ -e ${go} ] && break; sleep 0.1; done; touch ${made}` });
    assert.equal(r.status, 202);
    await eventually(() => admin.get(`/jobs/${r.body.id}`), (x) => (x.body.results as Array<{ output: string }>).some((y) => y.output.startsWith('started')), 15_000);
    const canceled = await adminOther.post(`/jobs/${r.body.id}/cancel`);
    assert.equal(canceled.status, 200, JSON.stringify(canceled.body));
    const body = canceled.body as unknown as JobBody;
    assert.deepEqual([body.status, body.results.map((x) => x.outcome)], ['canceled', ['canceled']], JSON.stringify(body.results));
    writeFileSync(go, '');
    await sleep(1000);
    assert.equal(existsSync(made), false, 'the command ran to its end on the asset');
  });

  test('a server that starts while another runs a job leaves that job running (it fails only jobs no live process marks), and cancels it', async (t) => {
    if (!runner) return t.skip(postgres.skip);
    const r = await admin.post('/jobs', { kind: 'command', assets: [asset], systemUser: su, command: 'echo started; sleep 30' });
    assert.equal(r.status, 202);
    await eventually(() => admin.get(`/jobs/${r.body.id}`), (x) => (x.body.results as Array<{ output: string }>).some((y) => y.output.startsWith('started')), 15_000);
    const late = await startBastion(shared);
    try {
      assert.equal((await runner.services.jobs.get(r.body.id)).status, 'running');
      const canceled = await (await loggedIn(late.baseUrl, 'admin', ADMIN_PASSWORD)).post(`/jobs/${r.body.id}/cancel`);
      assert.equal(canceled.status, 200, JSON.stringify(canceled.body));
      assert.equal((canceled.body as unknown as JobBody).status, 'canceled');
    } finally {
      await late.stop();
    }
  });
});

describe('a command job on an asset that never answers its exec request ends, canceled or timed out', () => {
  let b: Bastion;
  let server: InstanceType<typeof ssh2.Server>;
  let admin: ApiClient;
  let asset: string;
  let su: string;
  /** exec requests the asset received (and left unanswered). */
  let execs = 0;

  before(async () => {
    // A real SSH server (ssh2's) that logs in and opens the session channel, then neither
    // accepts nor refuses the exec: the reply the bastion waits for never comes.
    const hostKey = ssh2.utils.generateKeyPairSync('ed25519').private;
    server = new ssh2.Server({ hostKeys: [hostKey] }, (conn) => {
      conn.on('error', () => {});
      conn.on('authentication', (ctx) => (ctx.method === 'password' && ctx.password === 'mute-pass' ? ctx.accept() : ctx.reject(['password'])));
      conn.on('ready', () => conn.on('session', (accept) => accept().on('exec', () => { execs++; })));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    b = await startBastion();
    const f = factories(b.services);
    admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
    asset = (await f.asset({ name: 'muteweb', address: '127.0.0.1', port })).id;
    su = (await f.systemUser({ name: 'mute-app', username: 'mute', password: 'mute-pass' })).id;
  });
  after(async () => {
    await b?.stop();
    await new Promise((resolve) => server?.close(resolve));
  });

  test('a cancel and a time limit each end their job (no hang), the result saying the asset did not confirm', async () => {
    const [canceled, limited] = await Promise.all([
      admin.post('/jobs', { kind: 'command', assets: [asset], systemUser: su, command: 'sleep 100' }),
      admin.post('/jobs', { kind: 'command', assets: [asset], systemUser: su, command: 'sleep 100', timeoutSeconds: 1 }),
    ]);
    assert.deepEqual([canceled.status, limited.status], [202, 202]);
    // Both exec requests reached the asset and wait there for an answer that never comes.
    await eventually(async () => execs, (n) => n >= 2, 15_000);
    assert.equal(execs, 2);
    // Both end within the 10 s the bastion waits for a stopped command to be confirmed gone, not
    // never: bounded here so that a hang fails the test instead of stalling the file.
    const ended = await Promise.race([
      Promise.all([admin.post(`/jobs/${canceled.body.id}/cancel`), b.services.jobs.settled(canceled.body.id as string), b.services.jobs.settled(limited.body.id as string)]),
      sleep(40_000).then(() => null),
    ]);
    assert.ok(ended, 'the jobs never ended');
    const [cancel, ...settled] = ended;
    assert.equal(cancel.status, 200);
    const [c, t] = settled as unknown as JobBody[];
    assert.deepEqual([c!.status, c!.results.map((r) => r.outcome)], ['canceled', ['canceled']], JSON.stringify(c!.results));
    assert.deepEqual([t!.status, t!.results.map((r) => r.outcome)], ['failed', ['timedOut']], JSON.stringify(t!.results));
    for (const r of [...c!.results, ...t!.results]) assert.match(r.output, /the asset did not confirm the command ended within 10 s/);
  });
});
