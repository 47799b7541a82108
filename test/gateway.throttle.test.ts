// Login throttling over SSH (issue 12 item 2): the gateway drives the same state machine and the
// same database counters as the web, so failures on one channel lock the other for that
// (user, address) pair only, and the per-address rate covers SSH too. ssh2 clients connect
// from chosen loopback addresses.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup } from './helpers/tmp.ts';
import { ALICE_PASSWORD, ssh2Exec, ssh2Login, startWorld, type World } from './gatewayFixture.ts';

const skip = sshdUnavailable();

describe('SSH gateway: login throttling shared with the web', { skip }, () => {
  let w: World;
  before(async () => {
    w = await startWorld({ env: { BASTION_LOGIN_RATE_PER_MINUTE: '6' } });
  });
  after(async () => {
    await w?.stop();
    await cleanup();
  });

  async function sshLogin(from: string, password = ALICE_PASSWORD): Promise<string> {
    try {
      const c = await ssh2Login(w.gw.port, { username: 'alice@web01', password, localAddress: from, authHandler: ['password'] as never });
      const r = await ssh2Exec(c, 'echo in');
      c.end();
      return r.stdout.toString().trim();
    } catch (err) {
      return `refused: ${(err as Error).message}`;
    }
  }
  const logins = async (from: string) => (await w.bastion.services.auditLogs.logins({ username: 'alice', limit: 100 })).items
    .filter((l) => l.clientAddress === from).map((l) => `${l.channel} ${l.reason}`).reverse();

  test('five wrong web passwords from one address lock SSH for alice from that address only', async () => {
    const auth = w.bastion.services.authentication;
    for (let i = 0; i < w.bastion.config.lockoutThreshold; i++) {
      const r = await auth.password('alice', `wrong-${i}-xxxx`, { clientAddress: '127.0.0.1', channel: 'web' });
      assert.equal(r.ok, false);
    }
    assert.equal(await sshLogin('127.0.0.1'), 'refused: All configured authentication methods failed');
    assert.deepEqual((await logins('127.0.0.1')).slice(-1), ['ssh locked']);
    assert.equal(await sshLogin('127.0.0.2'), 'in');
  });

  test('the per-address login rate covers SSH: the 7th attempt in a minute from one address is refused unchecked', async () => {
    const from = '127.0.0.3';
    for (let i = 0; i < 6; i++) assert.match(await sshLogin(from, `wrong-${i}-yyyy`), /^refused/);
    assert.equal(await sshLogin(from), 'refused: All configured authentication methods failed', 'even the right password');
    const rows = await logins(from);
    assert.equal(rows.filter((r) => r === 'ssh invalid_credentials').length, 5);
    assert.equal(rows.filter((r) => r === 'ssh locked').length, 1);
    assert.equal(rows.at(-1), 'ssh rate_limited');
    assert.equal(await sshLogin('127.0.0.4'), 'in');
  });
});
