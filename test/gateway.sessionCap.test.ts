// DESIGN rule 13: one SSH connection holds a bounded number of channels, as OpenSSH's
// MaxSessions bounds shell, exec and subsystem sessions per connection (and Teleport's role
// option max_sessions does). A session channel sitting at the menu has no Session row, so
// BASTION_MAX_SESSIONS_PER_USER does not see it: BASTION_MAX_SESSIONS_PER_CONNECTION does, from
// channel-open to close. Tunnels (direct-tcpip, each a TCP connection from the gateway to an
// asset) have their own bound, BASTION_MAX_TUNNELS_PER_CONNECTION, counted from channel-open too.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { ClientChannel } from 'ssh2';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { SessionEntity } from '../core/db/entities/index.ts';
import { ALICE_PASSWORD, eventually, ssh2Login, startWorld, type World } from './gatewayFixture.ts';

const skip = sshdUnavailable();
const SESSIONS = 3;
const TUNNELS = 2;
const SESSION_REFUSAL = `open failed: administratively prohibited: [bastion] too many sessions on this connection (at most ${SESSIONS})`;
const TUNNEL_REFUSAL = `[bastion] too many tunnels on this connection (at most ${TUNNELS})`;

type Client = Awaited<ReturnType<typeof ssh2Login>>;

describe('SSH gateway: channels per connection are bounded', { skip }, () => {
  let w: World;

  before(async () => {
    w = await startWorld({
      env: { BASTION_MAX_SESSIONS_PER_CONNECTION: String(SESSIONS), BASTION_MAX_TUNNELS_PER_CONNECTION: String(TUNNELS) },
      actions: ['connect', 'tunnel'],
    });
  });
  after(async () => {
    await w?.stop();
    await cleanup();
  });

  const logins = () => (w.sshd.log().match(/Accepted (password|publickey) for /g) ?? []).length;
  const sessionRows = () => w.bastion.services.ds.getRepository(SessionEntity).countBy({ userId: w.alice.id, status: 'active' });
  const noActiveSessions = () => eventually(sessionRows, (n) => n === 0);

  /** Opens a channel with ssh2's `open`; resolves with it (its output read and dropped, so that it can close), or with the open failure. */
  function opened(open: (cb: (err: Error | undefined, ch: ClientChannel) => void) => void): Promise<ClientChannel | Error> {
    return new Promise((resolve) => open((err, ch) => {
      if (err) return resolve(err);
      ch.resume();
      ch.stderr.resume();
      resolve(ch);
    }));
  }
  const closeAll = async (channels: ClientChannel[]) => {
    await Promise.all(channels.map((ch) => new Promise((resolve) => {
      ch.once('close', resolve);
      ch.close();
    })));
  };

  test('OpenSSH multiplexing: the session beyond the cap is refused with the reason, exit 255; a closed session frees its slot', async () => {
    const dir = makeTempDir('bcap-');
    const control = join(dir, 'cm');
    const target = 'alice@web01@127.0.0.1';
    const options = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-p', String(w.gw.port)];
    // The master prints the open failure's reason (at LogLevel INFO, OpenSSH's default).
    const master = execa('sshpass', [
      '-p', ALICE_PASSWORD, 'ssh', ...options, '-o', 'LogLevel=INFO', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1',
      '-o', 'ControlMaster=yes', '-o', `ControlPath=${control}`, '-N', target,
    ], { reject: false, timeout: 60_000 });
    let masterSays = '';
    master.stderr!.on('data', (c: Buffer) => (masterSays += c.toString()));
    // A refused mux client falls back to a connection of its own (OpenSSH does this with sshd's
    // MaxSessions too); BatchMode makes that one end at once (no password), as a script's would.
    const muxArgs = (args: string[]) => [...options, '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', 'ControlMaster=no', '-S', control, target, ...args];
    const mux = (args: string[]) => execa('ssh', muxArgs(args), { reject: false, timeout: 30_000 });
    const held: Array<ResultPromise<{ reject: false; timeout: number }>> = [];
    try {
      const ready = await eventually(async () => (await mux(['-O', 'check'])).exitCode, (code) => code === 0, 20_000);
      assert.equal(ready, 0, 'the control master is up');
      // SESSIONS commands that each wait for one byte on stdin: the cap.
      for (let i = 0; i < SESSIONS; i++) {
        const p = execa('ssh', muxArgs([`echo up-${i}; head -c1 >/dev/null; echo done-${i}`]), { reject: false, timeout: 30_000 });
        held.push(p);
        await new Promise<void>((resolve) => p.stdout!.on('data', (c: Buffer) => c.toString().includes(`up-${i}`) && resolve()));
      }
      const loginsBefore = logins();
      const refused = await mux(['echo should-not-run']);
      assert.equal(refused.exitCode, 255, String(refused.stderr));
      assert.match(String(refused.stderr), /Session open refused by peer/);
      assert.equal(refused.stdout, '');
      assert.ok(masterSays.includes(SESSION_REFUSAL), masterSays);
      assert.equal(await sessionRows(), SESSIONS, 'no Session row for the refused channel');
      // One session ends: its slot opens again.
      held[0]!.stdin!.end('x');
      const first = await held[0]!;
      assert.equal(first.exitCode, 0, String(first.stderr));
      assert.equal(first.stdout, 'up-0\ndone-0');
      const again = await mux(['echo ran']);
      assert.equal(again.exitCode, 0, String(again.stderr));
      assert.equal(again.stdout, 'ran');
      assert.equal(logins() - loginsBefore, 1, 'one asset login since the cap was reached: the one that ran');
    } finally {
      for (const p of held) p.stdin!.end('x');
      await Promise.all(held);
      master.kill();
      await master;
      await noActiveSessions();
    }
  });

  test(`ssh2: ${SESSIONS + 1} exec channels opened at once, exactly one refused, with no Session row and no asset login`, async () => {
    const c = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
    try {
      const loginsBefore = logins();
      const results = await Promise.all(Array.from({ length: SESSIONS + 1 }, () => opened((cb) => c.exec('echo up; head -c1 >/dev/null', cb))));
      const channels = results.filter((r): r is ClientChannel => !(r instanceof Error));
      const errors = results.filter((r): r is Error => r instanceof Error);
      assert.equal(channels.length, SESSIONS);
      assert.deepEqual(errors.map((e) => e.message), [`(SSH) Channel open failure: [bastion] too many sessions on this connection (at most ${SESSIONS})`]);
      await eventually(sessionRows, (n) => n === SESSIONS);
      await eventually(async () => logins() - loginsBefore, (n) => n === SESSIONS);
      assert.equal(await sessionRows(), SESSIONS, 'Session rows');
      assert.equal(logins() - loginsBefore, SESSIONS, 'asset logins');
      await closeAll(channels);
    } finally {
      c.end();
      await noActiveSessions();
    }
  });

  test(`menu channels count too: ${SESSIONS} shells at the menu hold the cap, one closed frees its slot`, async () => {
    const c = await ssh2Login(w.gw.port, { username: 'alice', password: ALICE_PASSWORD });
    try {
      const shell = () => opened((cb) => c.shell({ term: 'xterm', rows: 24, cols: 80 }, cb));
      const results = await Promise.all(Array.from({ length: SESSIONS + 1 }, shell));
      const channels = results.filter((r): r is ClientChannel => !(r instanceof Error));
      assert.equal(channels.length, SESSIONS);
      assert.equal(results.filter((r) => r instanceof Error).length, 1);
      assert.equal(await sessionRows(), 0, 'a channel at the menu has no Session row');
      await closeAll(channels.splice(0, 1));
      const next = await shell();
      assert.ok(!(next instanceof Error), String(next));
      channels.push(next);
      const over = await shell();
      assert.ok(over instanceof Error && over.message.endsWith(`too many sessions on this connection (at most ${SESSIONS})`), String(over));
      await closeAll(channels);
    } finally {
      c.end();
    }
  });

  test(`tunnels have their own cap: ${TUNNELS + 1} at once beside ${SESSIONS} sessions, exactly one refused; a closed one frees its slot`, async () => {
    const c: Client = await ssh2Login(w.gw.port, { username: 'alice', password: ALICE_PASSWORD });
    const shells: ClientChannel[] = [];
    try {
      // Sessions at the cap do not take the tunnels' slots.
      for (let i = 0; i < SESSIONS; i++) {
        const ch = await opened((cb) => c.shell({ term: 'xterm', rows: 24, cols: 80 }, cb));
        assert.ok(!(ch instanceof Error), String(ch));
        shells.push(ch);
      }
      const tunnel = () => opened((cb) => c.forwardOut('127.0.0.1', 0, w.sshd.host, w.sshd.port, cb));
      const results = await Promise.all(Array.from({ length: TUNNELS + 1 }, tunnel));
      const tunnels = results.filter((r): r is ClientChannel => !(r instanceof Error));
      const errors = results.filter((r): r is Error => r instanceof Error);
      assert.equal(tunnels.length, TUNNELS);
      assert.deepEqual(errors.map((e) => e.message), [`(SSH) Channel open failure: ${TUNNEL_REFUSAL}`]);
      await eventually(sessionRows, (n) => n === TUNNELS);
      assert.equal(await sessionRows(), TUNNELS, 'a Session row for each tunnel, none for the refused one');
      await closeAll(tunnels.splice(0, 1));
      const next = await tunnel();
      assert.ok(!(next instanceof Error), String(next));
      tunnels.push(next);
      await closeAll([...tunnels, ...shells]);
    } finally {
      c.end();
      await noActiveSessions();
    }
  });
});
