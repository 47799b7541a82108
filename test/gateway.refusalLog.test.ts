// DESIGN rule 13: a client repeating what is refused (session channels over the per-connection cap,
// tunnels to addresses not granted, tcpip-forward) does not write a log line per request: the
// first of each kind on a connection is logged, the rest counted and logged once at close.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup } from './helpers/tmp.ts';
import { createLogger } from '../core/logger.ts';
import { startGateway, type GatewayHandle } from '../gateway/index.ts';
import { ALICE_PASSWORD, eventually, ssh2Login, startWorld, type World } from './gatewayFixture.ts';

const skip = sshdUnavailable();
const REPEATS = 5;

describe('SSH gateway: repeated refusals are logged once per connection', { skip, timeout: 120_000 }, () => {
  let w: World;
  let gw: GatewayHandle;
  const lines: Array<{ msg: string; [k: string]: unknown }> = [];

  before(async () => {
    w = await startWorld({ env: { BASTION_MAX_SESSIONS_PER_CONNECTION: '1', BASTION_MAX_TUNNELS_PER_CONNECTION: '1' } });
    // A gateway of this process whose log is read here (pino's JSON lines, as in production).
    const out = new PassThrough();
    let rest = '';
    out.on('data', (c: Buffer) => {
      const parts = (rest + c.toString('utf8')).split('\n');
      rest = parts.pop()!;
      for (const p of parts) if (p) lines.push(JSON.parse(p) as { msg: string });
    });
    const log = createLogger('info', 'json', { isTerminal: false, stream: out });
    gw = await startGateway({ ...w.bastion.services, log }, { port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await gw?.close();
    await w?.stop();
    await cleanup();
  });

  const refusedOpen = (open: (cb: (err: Error | undefined, ch: ClientChannel) => void) => void) => new Promise<string>((resolve) => open((err, ch) => {
    if (ch) ch.close();
    resolve(err ? err.message : 'opened');
  }));

  test('the first refusal of each kind is logged, the rest are counted at close', async () => {
    const c = await ssh2Login(gw.port, { username: 'alice', password: ALICE_PASSWORD });
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    const menu = await new Promise<ClientChannel>((resolve, reject) => c.shell((err, ch) => (err ? reject(err) : resolve(ch))));
    menu.resume();
    for (let i = 0; i < REPEATS; i++) {
      assert.match(await refusedOpen((cb) => c.exec('true', cb)), /too many sessions on this connection/);
      assert.match(await refusedOpen((cb) => c.forwardOut('127.0.0.1', 0, '127.0.0.1', 1, cb)), /no asset granted to you/);
      assert.match(await new Promise<string>((resolve) => c.forwardIn('127.0.0.1', 0, (err) => resolve(err ? err.message : 'accepted'))), /Unable to bind/);
    }
    const count = (msg: string) => lines.filter((l) => l.msg === msg).length;
    assert.equal(count('session channel refused: too many on this connection'), 1);
    assert.equal(count('tunnel refused: no granted asset with the tunnel action at that address'), 1);
    assert.equal(count('global request refused'), 1);
    c.end();
    await closed;
    const summary = await eventually(async () => lines.filter((l) => l.msg.startsWith('refusals on this connection')), (s) => s.length > 0);
    assert.equal(summary.length, 1);
    assert.deepEqual(summary[0]!.refused, { 'session channel': REPEATS, tunnel: REPEATS, 'global request': REPEATS });
    assert.equal(summary[0]!.user, 'alice');
  });
});
