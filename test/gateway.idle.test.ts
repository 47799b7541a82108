// The idle policy: only a terminal (PTY) or a shell with neither input nor output is idle; commands
// without a terminal, SFTP and tunnels are never ended for quietness unless
// BASTION_IDLE_TIMEOUT_EXEC_MINUTES says so; an ended session says why and exits 255.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type GatewayHandle } from '../gateway/index.ts';
import { SessionEntity } from '../core/db/entities/index.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import type { ClientChannel } from 'ssh2';
import { ALICE_PASSWORD, Screen, eventually, openShell, ssh2Exec, ssh2Login, startWorld, type World } from './gatewayFixture.ts';

const skip = sshdUnavailable();

describe('idle policy', { skip }, () => {
  let w: World;
  let gw: GatewayHandle;
  let execGw: GatewayHandle;
  const login = (port: number) => ssh2Login(port, { username: 'alice@web01', password: ALICE_PASSWORD });

  before(async () => {
    w = await startWorld();
    // Terminals idle after 1.5 s; commands without one never (the default), or after 1.5 s on execGw.
    gw = await startGateway(w.bastion.services, { port: 0, host: '127.0.0.1', accessCheckMs: 200, idleTimeoutMs: 1500, idleTimeoutExecMs: 0 });
    execGw = await startGateway(w.bastion.services, { port: 0, host: '127.0.0.1', accessCheckMs: 200, idleTimeoutMs: 0, idleTimeoutExecMs: 1500 });
  });
  after(async () => {
    await gw?.close();
    await execGw?.close();
    await w?.stop();
  });

  test('a quiet command without a terminal outlives the terminal idle timeout', async () => {
    const c = await login(gw.port);
    try {
      const r = await ssh2Exec(c, 'sleep 4; echo finished');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.toString(), 'finished\n');
    } finally {
      c.end();
    }
  });

  test('a terminal that only prints (top, a build) is not idle; one with neither input nor output is ended with 255', async () => {
    const c = await login(gw.port);
    try {
      // An interactive shell printing for 4 s without a key pressed (the `top` case).
      const screen = await openShell(c);
      await screen.waitFor(/\$ $/m);
      const from = screen.text.length;
      screen.stream.write('for i in $(seq 1 16); do echo tick; sleep 0.25; done; echo all-""ticked\r');
      await screen.waitFor('all-ticked', from, 15_000);
      assert.doesNotMatch(screen.text, /session ended/);
      screen.stream.write('exit\r');
      await screen.whenClosed();

      const quiet = await ssh2Exec(c, 'sleep 6; echo never', { pty: true });
      assert.equal(quiet.code, 255);
      assert.match(quiet.stdout.toString() + quiet.stderr, /\[bastion\] session ended: idle for more than/);
      assert.doesNotMatch(quiet.stdout.toString(), /never/);
      const rows = await eventually(
        () => w.bastion.services.ds.getRepository(SessionEntity).find({ where: { userId: w.alice.id, terminatedBy: 'idle timeout' } }),
        (x) => x.length >= 1,
      );
      assert.equal(rows.length, 1);
    } finally {
      c.end();
    }
  });

  test('an interactive shell with neither input nor output is ended and told why', async () => {
    const c = await login(gw.port);
    try {
      const screen = await openShell(c);
      await screen.waitFor(/session ended: idle for more than/);
      await screen.whenClosed();
    } finally {
      c.end();
    }
  });

  test('a shell without a terminal (ssh -T) is interactive too: with neither input nor output it is ended and told why', async () => {
    const c = await login(gw.port);
    try {
      // Before, only a PTY counted: `ssh -T` gave a shell that typed commands go to and that was never idle.
      const stream = await new Promise<ClientChannel>((resolve, reject) => c.shell(false, (err, s) => (err ? reject(err) : resolve(s))));
      const screen = new Screen(stream);
      await screen.waitFor(/session ended: idle for more than/);
      await screen.whenClosed();
    } finally {
      c.end();
    }
  });

  test('an exec of a shell without a terminal (ssh host bash) is interactive too: idle, it is ended with 255 and told why', async () => {
    const c = await login(gw.port);
    try {
      const stream = await new Promise<ClientChannel>((resolve, reject) => c.exec('bash', (err, s) => (err ? reject(err) : resolve(s))));
      const screen = new Screen(stream);
      let code: number | null = null;
      stream.on('exit', (status: number | null) => { code = status; });
      await screen.waitFor(/session ended: idle for more than/);
      await screen.whenClosed();
      assert.equal(code, 255);
    } finally {
      c.end();
    }
  });

  test('BASTION_IDLE_TIMEOUT_EXEC_MINUTES set: a quiet command without a terminal is ended with 255 and the reason', async () => {
    const c = await login(execGw.port);
    try {
      const r = await ssh2Exec(c, 'sleep 6; echo never');
      assert.equal(r.code, 255);
      assert.match(r.stderr, /^\[bastion\] session ended: idle for more than/);
      assert.equal(r.stdout.toString(), '');
    } finally {
      c.end();
    }
  });
});
