// DESIGN rule 13, before authentication: the login grace time runs from TCP accept, start-ups
// are capped in total and per source (like OpenSSH MaxStartups), and one connection may make
// at most BASTION_MAX_AUTH_TRIES authentication requests. Real sockets from several loopback
// source addresses (127.0.0.2, 127.0.0.3 play attackers; operators come from 127.0.0.1).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import ssh2 from 'ssh2';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup } from './helpers/tmp.ts';
import { allClosed, destroyAll, openRaw, settle, type RawConn } from './helpers/rawSockets.ts';
import { ALICE_PASSWORD, ssh2Exec, ssh2Login, startWorld, type World } from './gatewayFixture.ts';

const skip = sshdUnavailable();
// Long enough for both batches to be opened and counted before the first one's grace is up.
const GRACE_S = 10;
const MAX_STARTUPS = 30;
const PER_SOURCE = 20;

describe('SSH gateway: pre-authentication bounds', { skip }, () => {
  let w: World;
  const held: RawConn[][] = [];

  before(async () => {
    w = await startWorld({
      env: {
        BASTION_LOGIN_GRACE_SECONDS: String(GRACE_S), BASTION_MAX_STARTUPS: String(MAX_STARTUPS),
        BASTION_MAX_STARTUPS_PER_SOURCE: String(PER_SOURCE), BASTION_MAX_AUTH_TRIES: '10',
      },
    });
  });
  after(async () => {
    for (const h of held) destroyAll(h);
    await w?.stop();
    await cleanup();
  });

  async function realLogin(): Promise<string> {
    const c = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
    const r = await ssh2Exec(c, 'echo real-login');
    c.end();
    return r.stdout.toString();
  }

  test('2,000 idle TCP sockets: start-ups capped per source and in total, the held ones dropped after the grace time, real logins go on', async () => {
    // 1,000 from one source: PER_SOURCE are held (they get the identification), the rest are closed at once.
    const a = await openRaw(w.gw.port, 1000, '127.0.0.2');
    held.push(a);
    await settle(a);
    assert.equal(a.filter((c) => c.spoke && !c.closed).length, PER_SOURCE);
    assert.equal(a.filter((c) => !c.spoke && c.closed).length, 1000 - PER_SOURCE);
    // Another source is still below the total: a real login from 127.0.0.1 works meanwhile.
    assert.equal(await realLogin(), 'real-login\n');

    // 1,000 more from a second source fill the total: only MAX_STARTUPS - PER_SOURCE more are held.
    const b = await openRaw(w.gw.port, 1000, '127.0.0.3');
    held.push(b);
    await settle(b);
    assert.equal(a.filter((c) => c.spoke && !c.closed).length, PER_SOURCE, 'the first batch is still held while the second is counted');
    assert.equal(b.filter((c) => c.spoke && !c.closed).length, MAX_STARTUPS - PER_SOURCE);
    assert.equal(b.filter((c) => !c.spoke && c.closed).length, 1000 - (MAX_STARTUPS - PER_SOURCE));
    // Full: like OpenSSH at MaxStartups, a new start-up is refused until the grace time frees room.
    const [refused] = await openRaw(w.gw.port, 1, '127.0.0.1');
    await settle([refused!]);
    assert.equal(refused!.spoke, false);
    assert.equal(refused!.closed, true);

    // The held sockets never send an identification: each is dropped once its grace time is up.
    assert.equal(await allClosed([...a, ...b], GRACE_S * 1000 + 10_000), true);
    assert.equal(await realLogin(), 'real-login\n');
  });

  test('a connection gets at most 10 authentication requests (none and key offers included); the 11th, even with the right password, is refused and the connection closed', async () => {
    const sent: string[] = [];
    const strangerKey = ssh2.utils.generateKeyPairSync('ed25519').private;
    const outcome = await new Promise<string>((resolve) => {
      const c = new ssh2.Client();
      c.on('ready', () => { c.end(); resolve('ready'); });
      c.on('error', (err) => resolve(`error: ${err.message}`));
      c.on('close', () => resolve('closed'));
      c.connect({
        host: '127.0.0.1', port: w.gw.port, username: 'alice@web01', readyTimeout: 20_000,
        authHandler: (_methodsLeft, _partial, next) => {
          // Five `none` requests and five offers of a key nobody stored, then the right password.
          if (sent.length < 5) {
            sent.push('none');
            next({ type: 'none', username: 'alice@web01' });
          } else if (sent.length < 10) {
            sent.push('publickey');
            next({ type: 'publickey', username: 'alice@web01', key: strangerKey });
          } else if (sent.length === 10) {
            sent.push('password');
            next({ type: 'password', username: 'alice@web01', password: ALICE_PASSWORD });
          } else {
            sent.push('gave up');
            next(false as never);
          }
        },
      });
    });
    // The reason comes as the disconnect's description, which OpenSSH prints at any LogLevel but QUIET.
    assert.equal(outcome, 'error: [bastion] too many authentication attempts');
    // (ssh2 may still ask for a next method while the gateway hangs up.)
    assert.deepEqual(sent.filter((m) => m !== 'gave up'), [...Array(5).fill('none'), ...Array(5).fill('publickey'), 'password']);
    // Ten requests are fine: the same password as the 10th request logs in.
    const ok = await new Promise<string>((resolve) => {
      const c = new ssh2.Client();
      let n = 0;
      c.on('ready', () => { c.end(); resolve('ready'); });
      c.on('error', (err) => resolve(`error: ${err.message}`));
      c.connect({
        host: '127.0.0.1', port: w.gw.port, username: 'alice@web01', readyTimeout: 20_000,
        authHandler: (_m, _p, next) => {
          n++;
          if (n < 10) next({ type: 'none', username: 'alice@web01' });
          else if (n === 10) next({ type: 'password', username: 'alice@web01', password: ALICE_PASSWORD });
          else next(false as never);
        },
      });
    });
    assert.equal(ok, 'ready');
  });
});
