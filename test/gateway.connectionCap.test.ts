// DESIGN rules 12 and 13: one user holds at most BASTION_MAX_CONNECTIONS_PER_USER logged-in SSH
// connections at once, in every gateway process (Teleport's role option max_connections). A
// connection at the menu or with no channel at all (`ssh -N`) holds no Session row, so
// BASTION_MAX_SESSIONS_PER_USER does not see it; this limit does, from login to close.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import ssh2 from 'ssh2';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { LoginLogEntity, SessionEntity, SshConnectionEntity } from '../core/db/entities/index.ts';
import { connectionLimitLine, leaseHolder } from '../core/audit/sshConnections.ts';
import { killedOnPurpose } from './helpers/gatewayWorkers.ts';
import { startGateway } from '../gateway/index.ts';
import { ALICE_PASSWORD, eventually, gatewayTopology, ssh2Login, startWorld, type World } from './gatewayFixture.ts';

const skip = sshdUnavailable();
const MAX = 3;

type Client = Awaited<ReturnType<typeof ssh2Login>>;

describe('SSH gateway: logged-in connections per user are bounded', { skip, timeout: 120_000 }, () => {
  let w: World;
  let keyPath = '';

  before(async () => {
    // Heartbeats every second: a dead worker's slots stop counting after three.
    w = await startWorld({ env: { BASTION_MAX_CONNECTIONS_PER_USER: String(MAX), BASTION_SESSION_HEARTBEAT_SECONDS: '1' } });
    keyPath = join(makeTempDir('bconn-'), 'alice');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyPath]);
    await w.bastion.services.userKeys.add(SYSTEM_ACTOR, w.alice.id, { publicKey: readFileSync(`${keyPath}.pub`, 'utf8').trim() });
  });
  after(async () => {
    await w?.stop();
    await cleanup();
  });

  const login = () => ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
  const leases = () => w.bastion.services.ds.getRepository(SshConnectionEntity).countBy({ userId: w.alice.id });
  const ended = (c: Client) => new Promise<void>((resolve) => {
    c.once('close', () => resolve());
    c.end();
  });
  /** An ssh2 login expected to be refused: how it ended. */
  const ssh2Refused = () => new Promise<string>((resolve) => {
    const c = new ssh2.Client();
    c.once('ready', () => {
      c.end();
      resolve('logged in');
    });
    c.on('error', (err) => resolve(err.message));
    c.once('close', () => resolve('closed before login'));
    c.connect({ host: '127.0.0.1', port: w.gw.port, username: 'alice@web01', password: ALICE_PASSWORD, readyTimeout: 20_000 });
  });
  /**
   * OpenSSH as Ansible runs it: a key, no prompts, one command on a connection of its own. At
   * `LogLevel=ERROR` (what users who hide OpenSSH's warnings set) a userauth banner is not printed;
   * a disconnect's reason is.
   */
  const openssh = (logLevel = 'INFO') => execa('ssh', [
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', `LogLevel=${logLevel}`,
    '-i', keyPath, '-p', String(w.gw.port), 'alice@web01@127.0.0.1', 'echo', 'ran',
  ], { reject: false, timeout: 30_000 });

  test('at the limit the next login is refused with the reason (OpenSSH prints it, exit 255, no Session row); a closed connection frees its slot', async () => {
    // Connections with no channel at all, as `ssh -N` holds them.
    const held: Client[] = [];
    for (let i = 0; i < MAX; i++) held.push(await login());
    try {
      assert.equal(await leases(), MAX);
      for (const level of ['INFO', 'ERROR']) {
        const refused = await openssh(level);
        assert.equal(refused.exitCode, 255, refused.stderr);
        assert.equal(refused.stderr.split('\n').filter((l) => l.includes(connectionLimitLine(MAX))).length, 1, `LogLevel=${level}: ${refused.stderr}`);
        assert.doesNotMatch(refused.stderr, /Permission denied/);
        assert.equal(refused.stdout, '');
      }
      assert.equal(await ssh2Refused(), connectionLimitLine(MAX), 'ssh2 is not logged in either, and is told why');
      assert.equal(await w.bastion.services.ds.getRepository(SessionEntity).countBy({ userId: w.alice.id }), 0);
      assert.equal(await leases(), MAX, 'a refused login holds no slot');
      // The login log says why, once per refused login (OpenSSH's key, then ssh2's password).
      const refusedRows = await w.bastion.services.ds.getRepository(LoginLogEntity).findBy({ username: 'alice', ok: false });
      assert.deepEqual(refusedRows.map((l) => [l.reason, l.method]).sort(), [['connection_limit', 'password'], ['connection_limit', 'publickey'], ['connection_limit', 'publickey']]);

      await ended(held.pop()!);
      await eventually(leases, (n) => n === MAX - 1);
      const ran = await openssh();
      assert.equal(ran.exitCode, 0, ran.stderr);
      assert.equal(ran.stdout.trim(), 'ran');
      assert.equal(await eventually(leases, (n) => n === MAX - 1), MAX - 1, 'the command\'s connection gave its slot back');
    } finally {
      await Promise.all(held.map(ended));
    }
    assert.equal(await eventually(leases, (n) => n === 0), 0);
  });

  test('a connection the bastion closes says why: `ssh -N` at LogLevel=ERROR prints its user\'s lock and exits 255', async () => {
    // No channel at all, as a ControlMaster or a tunnel-only connection waits: no terminal hears the sessions' last words.
    const held = execa('ssh', [
      '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR',
      '-i', keyPath, '-p', String(w.gw.port), '-N', 'alice@127.0.0.1',
    ], { reject: false, timeout: 30_000 });
    await eventually(leases, (n) => n === 1);
    await w.bastion.services.users.setLock(SYSTEM_ACTOR, w.alice.id, true, 10);
    try {
      const r = await held;
      assert.equal(r.exitCode, 255, r.stderr);
      assert.match(r.stderr, /^Received disconnect from 127\.0\.0\.1 port \d+:11: \[bastion\] connection closed: your account has been locked by an administrator\r?$/m);
    } finally {
      await w.bastion.services.users.setLock(SYSTEM_ACTOR, w.alice.id, false, 0);
    }
    assert.equal(await eventually(leases, (n) => n === 0), 0);
  });

  test('a gateway that shuts down gives its connections\' slots back before it is done', async () => {
    const g = await startGateway(w.bastion.services, { port: 0, host: '127.0.0.1' });
    const clients = [await ssh2Login(g.port, { username: 'alice', password: ALICE_PASSWORD }), await ssh2Login(g.port, { username: 'alice', password: ALICE_PASSWORD })];
    assert.equal(await leases(), 2);
    await g.close();
    assert.equal(await leases(), 0, 'no slot is left for the heartbeat sweep to find');
    for (const c of clients) c.end();
  });

  if (gatewayTopology() === 'workers') {
    test('a worker process that dies does not keep its slots: they stop counting once its heartbeats stop, and are swept', async () => {
      const held: Array<{ c: Client; gone: Promise<void> }> = [];
      for (let i = 0; i < MAX; i++) {
        const c = await login();
        held.push({ c, gone: new Promise<void>((resolve) => c.once('close', () => resolve())) });
      }
      // The pids serving the server side of each connection (`ss -p`).
      const r = await execa('ss', ['-Htnp', 'state', 'established', `( sport = :${w.gw.port} )`]);
      const pids = [...r.stdout.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
      assert.equal(pids.length, MAX);
      const victim = pids[0]!;
      const survivors = pids.filter((p) => p !== victim).length;
      killedOnPurpose.add(victim);
      process.kill(victim, 'SIGKILL');
      try {
        // Its rows are left behind (nothing released them), yet a login gets through once they are stale.
        const outcome = await eventually(ssh2Refused, (o) => o === 'logged in', 30_000);
        assert.equal(outcome, 'logged in');
        assert.equal(await eventually(leases, (n) => n === survivors, 30_000), survivors, 'the dead worker\'s rows were swept');
      } finally {
        for (const h of held) h.c.end();
        await Promise.all(held.map((h) => h.gone));
      }
    });
  }
});

if (gatewayTopology() === 'workers') {
  describe('SSH gateway: a gateway worker that dies frees its connections at once', { skip, timeout: 120_000 }, () => {
    let w: World;
    // Heartbeats a minute apart: only the primary seeing its worker exit can free the slots in time.
    before(async () => { w = await startWorld({ env: { BASTION_MAX_CONNECTIONS_PER_USER: '2', BASTION_SESSION_HEARTBEAT_SECONDS: '60' } }); });
    after(async () => { await w?.stop(); });

    test('its rows name it (host/pid); once it is killed they are gone within seconds, not three heartbeat periods, and the user logs in again', async () => {
      const repo = w.bastion.services.ds.getRepository(SshConnectionEntity);
      const clients = [];
      try {
        for (let i = 0; i < 2; i++) clients.push(await ssh2Login(w.gw.port, { username: 'alice', password: ALICE_PASSWORD }));
        const r = await execa('ss', ['-Htnp', 'state', 'established', `( sport = :${w.gw.port} )`]);
        const pids = [...r.stdout.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
        assert.equal(pids.length, 2);
        const rows = await repo.findBy({ userId: w.alice.id });
        assert.deepEqual(rows.map((x) => x.holder).sort(), pids.map((p) => leaseHolder(p)).sort());
        const victim = pids[0]!;
        killedOnPurpose.add(victim);
        process.kill(victim, 'SIGKILL');
        const left = await eventually(() => repo.findBy({ userId: w.alice.id }), (x) => x.length === 1, 5000);
        assert.deepEqual(left.map((x) => x.holder), pids.slice(1).map((p) => leaseHolder(p)));
        // The slot is free: a login gets through (on whichever worker takes it).
        clients.push(await ssh2Login(w.gw.port, { username: 'alice', password: ALICE_PASSWORD }));
        assert.equal(await repo.countBy({ userId: w.alice.id }), 2);
      } finally {
        for (const c of clients) c.end();
      }
    });
  });
}
