// BASTION_UNUSED_CONNECTION_TIMEOUT_SECONDS (OpenSSH 9.2's UnusedConnectionTimeout): a logged-in
// connection with no channel open for that long is closed; one with a channel is not, until its
// last channel has been closed for that long.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientChannel } from 'ssh2';
import { execa } from 'execa';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup } from './helpers/tmp.ts';
import { ALICE_PASSWORD, ssh2Login, startWorld, type World } from './gatewayFixture.ts';

const skip = sshdUnavailable();

describe('SSH gateway: unused connections are closed', { skip, timeout: 60_000 }, () => {
  let w: World;

  before(async () => {
    w = await startWorld({ env: { BASTION_UNUSED_CONNECTION_TIMEOUT_SECONDS: '1' } });
  });
  after(async () => {
    await w?.stop();
    await cleanup();
  });

  test('a connection with no channel is closed after the timeout; one holding a channel is not, until its channel closes', async () => {
    const login = async () => {
      const c = await ssh2Login(w.gw.port, { username: 'alice', password: ALICE_PASSWORD });
      let closed = false;
      const gone = new Promise<void>((resolve) => c.once('close', () => {
        closed = true;
        resolve();
      }));
      return { c, gone, isClosed: () => closed };
    };
    // The busy one logs in first: were its channel not counted, it would be closed before the bare one.
    const busy = await login();
    const menu = await new Promise<ClientChannel>((resolve, reject) => busy.c.shell((err, ch) => (err ? reject(err) : resolve(ch))));
    menu.resume();
    const bare = await login();
    await bare.gone;
    assert.equal(busy.isClosed(), false, 'the connection with a channel open is still up');
    // The channel goes: from now on, the busy connection is unused too.
    menu.close();
    await busy.gone;
    assert.equal(busy.isClosed(), true);
  });

  test('OpenSSH says why: `ssh -N` at LogLevel=ERROR prints the reason and exits 255', async () => {
    const r = await execa('sshpass', ['-p', ALICE_PASSWORD, 'ssh', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
      '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1', '-p', String(w.gw.port), '-N', 'alice@127.0.0.1'], { reject: false, timeout: 30_000 });
    assert.equal(r.exitCode, 255, r.stderr);
    assert.match(r.stderr, /^Received disconnect from 127\.0\.0\.1 port \d+:11: \[bastion\] connection closed: no session or tunnel was open for 1 s\r?$/m);
  });
});
