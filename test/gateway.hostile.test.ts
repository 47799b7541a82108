// DESIGN rule 13: no backend can crash a gateway process. Each hostile peer below accepts TCP
// like an sshd and then fails in its own way, while another operator's session runs in the same
// gateway process; the operator gets one clear line within the backend timeout, and the live
// session goes on. (An unhandled 'error' event would end this test process: node:test reports
// it as a failure.)
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Asset } from '../core/db/entities/index.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup } from './helpers/tmp.ts';
import { startHostilePeer, startStallingProxy, type HostileKind, type HostilePeer, type StallingProxy } from './helpers/hostilePeers.ts';
import { ALICE_PASSWORD, openShell, ssh2Exec, ssh2Login, startWorld, type Screen, type World } from './gatewayFixture.ts';

const skip = sshdUnavailable();
/** The backend timeout these tests run with (BASTION_BACKEND_TIMEOUT_SECONDS). */
const BACKEND_TIMEOUT_S = 2;

describe('SSH gateway: hostile backends never crash the process', { skip }, () => {
  let w: World;
  let live: Screen;
  const peers: HostilePeer[] = [];
  let liveClient: Awaited<ReturnType<typeof ssh2Login>>;

  async function assetFor(name: string, port: number): Promise<Asset> {
    const asset = await w.f.asset({ name, address: '127.0.0.1', port });
    await w.f.permission({ users: [w.alice.id], assets: [asset.id], systemUsers: [w.su.id] });
    return asset;
  }

  /** The live session of another operator (here alice too) in the same process still answers. */
  async function liveSessionAnswers(tag: string): Promise<void> {
    await live.send(`echo alive-${tag}\n`, `alive-${tag}\r\n`);
  }

  before(async () => {
    w = await startWorld({ env: { BASTION_BACKEND_TIMEOUT_SECONDS: String(BACKEND_TIMEOUT_S) } });
    liveClient = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
    live = await openShell(liveClient);
    await live.send('echo ready\n', 'ready\r\n');
  });
  after(async () => {
    liveClient?.end();
    for (const p of peers) await p.stop();
    await w?.stop();
    await cleanup();
  });

  const cases: Array<{ kind: HostileKind; line: (where: string) => string }> = [
    { kind: 'silent', line: (where) => `cannot connect to ${where}: timed out\n` },
    { kind: 'garbage', line: (where) => `cannot connect to ${where}: the server does not speak SSH\n` },
    { kind: 'closes-mid-handshake', line: (where) => `cannot connect to ${where}: the server closed the connection during the SSH handshake\n` },
    { kind: 'huge-banner', line: (where) => `cannot connect to ${where}: the server does not speak SSH\n` },
  ];
  for (const c of cases) {
    test(`a backend that is ${c.kind}: one clear line within the backend timeout, the other session untouched`, async () => {
      const peer = await startHostilePeer(c.kind);
      peers.push(peer);
      const name = `hostile-${c.kind}`;
      await assetFor(name, peer.port);
      // Twice: the second attempt proves the process is still the same, healthy one.
      for (let round = 0; round < 2; round++) {
        const op = await ssh2Login(w.gw.port, { username: `alice@${name}`, password: ALICE_PASSWORD });
        const r = await ssh2Exec(op, 'echo should-not-run');
        op.end();
        assert.equal(r.stdout.toString(), '');
        assert.equal(r.stderr, c.line(`${name} (127.0.0.1:${peer.port})`));
        assert.equal(r.code, 255);
      }
      assert.equal(peer.accepted(), 2);
      // Errors emitted after the first one (socket close after a timeout) land after a moment.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await liveSessionAnswers(c.kind);
    });
  }

  test('a backend that stalls mid-session: that session ends with a line, the other goes on', async () => {
    const proxy: StallingProxy = await startStallingProxy({ host: w.sshd.host, port: w.sshd.port });
    peers.push(proxy);
    await assetFor('stalls01', proxy.port);
    const op = await ssh2Login(w.gw.port, { username: 'alice@stalls01', password: ALICE_PASSWORD });
    const shell = await openShell(op);
    await shell.send('echo through-proxy\n', 'through-proxy\r\n');
    proxy.stall();
    shell.stream.write('echo lost\n');
    // Three keepalives at the backend timeout, then the gateway gives the backend up.
    await shell.whenClosed(BACKEND_TIMEOUT_S * 1000 * 6);
    assert.ok(shell.text.endsWith('\r\n[bastion] connection to stalls01 lost: the server stopped answering\r\n'), shell.text);
    op.end();
    await liveSessionAnswers('after-stall');
  });
});
