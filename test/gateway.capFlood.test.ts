// BASTION_MAX_SESSIONS_PER_USER bounds what one operator holds at the assets, not only the
// Session rows: a channel refused at the limit must not log in to the asset first. exec and
// SFTP dial the asset while their session row is written (a command is often short); a flood
// of channels from one operator at the limit made the gateway log in to the asset for each.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientChannel } from 'ssh2';
import { sshdUnavailable } from './helpers/sshd.ts';
import { SessionEntity } from '../core/db/entities/index.ts';
import { ALICE_PASSWORD, eventually, ssh2Exec, ssh2Login, startWorld, type World } from './gatewayFixture.ts';

const skip = sshdUnavailable();
const LIMIT = 2;

describe('the per-user session limit bounds logins to the assets', { skip }, () => {
  let w: World;

  before(async () => {
    // 14 channels on one connection: BASTION_MAX_SESSIONS_PER_CONNECTION (gateway.sessionCap) is
    // raised so that it is the per-user limit that refuses here.
    w = await startWorld({ env: { BASTION_MAX_SESSIONS_PER_USER: String(LIMIT), BASTION_MAX_SESSIONS_PER_CONNECTION: '16' } });
  });
  after(async () => {
    await w?.stop();
  });

  const logins = () => (w.sshd.log().match(/Accepted (password|publickey) for /g) ?? []).length;

  test('at the limit, 12 more exec channels at once are refused and none of them logs in to the asset', async () => {
    const c = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
    try {
      // Two sessions held open: the limit.
      const held: ClientChannel[] = [];
      for (let i = 0; i < LIMIT; i++) {
        held.push(await new Promise<ClientChannel>((resolve, reject) => c.exec('echo up; sleep 60', (err, s) => {
          if (err) return reject(err);
          s.once('data', () => resolve(s));
        })));
      }
      const before = logins();
      const refused = await Promise.all(Array.from({ length: 12 }, () => ssh2Exec(c, 'echo should-not-run')));
      for (const r of refused) {
        assert.equal(r.code, 255, r.stderr);
        assert.match(r.stderr, /you already have 2 active sessions/);
        assert.equal(r.stdout.toString(), '');
      }
      // One session ended, one more command runs: its login is the only one since (a login started
      // for a refused channel would have been logged by sshd before this later one).
      const ended = new Promise((resolve) => held[0]!.once('close', resolve));
      held[0]!.close();
      await ended;
      await eventually(() => w.bastion.services.ds.getRepository(SessionEntity).countBy({ userId: w.alice.id, status: 'active' }), (n) => n < LIMIT);
      const ok = await ssh2Exec(c, 'echo ran');
      assert.equal(ok.stdout.toString(), 'ran\n', ok.stderr);
      assert.equal(logins() - before, 1, 'logins to the asset since the limit was reached');
      held[1]!.close();
    } finally {
      c.end();
    }
  });
});
