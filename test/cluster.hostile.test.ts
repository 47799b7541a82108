// DESIGN rule 13 in the worker topology: `bastion start` with two gateway workers; hostile
// backends (silent, closing mid-handshake) are dialled by operators and by a connectivity test
// while other operators' shells run on both workers. No worker dies (the primary would print
// "gateway worker … exited") and every live shell still answers. And the process guard: an
// error that escapes every handler is survived only when it belongs to one peer connection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import ssh2 from 'ssh2';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { startSshd, sshdUnavailable, type Sshd } from './helpers/sshd.ts';
import { freePort } from './helpers/ports.ts';
import { startProduct, stopProduct, type Product } from './helpers/product.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { startHostilePeer, type HostilePeer } from './helpers/hostilePeers.ts';
import { openShell, ssh2Exec, type Screen } from './gatewayFixture.ts';

const ADMIN_PW = 'Cluster-admin-pass-1';
const OP_PW = 'Operator-pass-1';
let sshd: Sshd;
let product: Product | undefined;
let sshPort: number;
let admin: ApiClient;
const peers: HostilePeer[] = [];
const clients: ssh2.Client[] = [];

function login(username: string): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    clients.push(c);
    c.once('ready', () => resolve(c));
    c.on('error', reject);
    c.connect({ host: '127.0.0.1', port: sshPort, username, password: OP_PW, readyTimeout: 20_000 });
  });
}

before(async () => {
  if (sshdUnavailable()) return;
  sshd = await startSshd();
  const httpPort = await freePort();
  sshPort = await freePort();
  product = await startProduct('start', {
    BASTION_DATA_DIR: makeTempDir('bastion-cluster-hostile-'), BASTION_HTTP_PORT: String(httpPort), BASTION_SSH_PORT: String(sshPort),
    BASTION_GATEWAY_WORKERS: '2', BASTION_ADMIN_PASSWORD: ADMIN_PW, BASTION_BACKEND_TIMEOUT_SECONDS: '2',
  }, { timeoutMs: 240_000 });
  admin = await loggedIn(`http://127.0.0.1:${httpPort}`, 'admin', ADMIN_PW);
  const user = (await admin.post('/users', { username: 'op', password: OP_PW, mustChangePassword: false })).body;
  const su = (await admin.post('/system-users', { name: 'acct', username: sshd.username, password: sshd.password })).body;
  const assets = [(await admin.post('/assets', { name: 'web01', address: '127.0.0.1', port: sshd.port })).body.id as string];
  for (const kind of ['silent', 'closes-mid-handshake'] as const) {
    const peer = await startHostilePeer(kind);
    peers.push(peer);
    assets.push((await admin.post('/assets', { name: kind, address: '127.0.0.1', port: peer.port, adminUser: null })).body.id as string);
  }
  await admin.post('/permissions', { name: 'op-all', users: [user.id], assets, systemUsers: [su.id] });
});

after(async () => {
  for (const c of clients) c.end();
  await stopProduct(product);
  for (const p of peers) await p.stop();
  await sshd?.stop();
  await cleanup();
});

test('hostile backends next to live shells on two gateway workers: no worker dies, every shell goes on', async (t) => {
  if (sshdUnavailable()) { t.skip(sshdUnavailable()!); return; }
  // Four live shells: the primary hands connections to the workers in turn, so both have some.
  const shells: Screen[] = [];
  for (let i = 0; i < 4; i++) {
    const shell = await openShell(await login('op@web01'));
    await shell.send(`echo up-${i}\n`, `up-${i}\r\n`);
    shells.push(shell);
  }
  // Each hostile backend dialled by four operators, so that every worker meets each one.
  const attempts = await Promise.all(['silent', 'closes-mid-handshake'].flatMap((name) => Array.from({ length: 4 }, async () => {
    const c = await login(`op@${name}`);
    const r = await ssh2Exec(c, 'true');
    c.end();
    return { name, stderr: r.stderr, code: r.code };
  })));
  for (const a of attempts) {
    const why = a.name === 'silent' ? 'timed out' : 'the server closed the connection during the SSH handshake';
    assert.match(a.stderr, new RegExp(`^cannot connect to ${a.name} \\(127\\.0\\.0\\.1:\\d+\\): ${why}\\n$`));
    assert.equal(a.code, 255);
  }
  // The connectivity test (core/ops remote login, in the primary) against the same peers.
  const assets = (await admin.get('/assets?limit=10')).body.items as Array<{ id: string; name: string }>;
  for (const name of ['silent', 'closes-mid-handshake']) {
    const id = assets.find((a) => a.name === name)!.id;
    const r = await admin.post(`/assets/${id}/test`);
    assert.equal(r.status, 200);
    assert.equal(r.body.ok, false);
  }
  // Late errors (the socket closing after a timeout) have had their chance to strike.
  await new Promise((r) => setTimeout(r, 1000));
  for (const [i, shell] of shells.entries()) await shell.send(`echo still-${i}\n`, `still-${i}\r\n`);
  const out = product!.output();
  assert.doesNotMatch(out, /gateway worker \d+ exited/);
  // Not even the process guard was needed: every error found its own handler.
  assert.doesNotMatch(out, /failed without a handler|was not awaited/);
  assert.equal(product!.child.exitCode, null);
});

test('the process guard survives an unhandled peer-connection error and exits on anything else', async () => {
  const script = (err: string) => `
    import { EventEmitter } from 'node:events';
    import { installProcessGuard } from './bin/processGuard.ts';
    import { createLogger } from './core/logger.ts';
    installProcessGuard(createLogger('info'));
    setTimeout(() => new EventEmitter().emit('error', ${err}), 10);
    setTimeout(() => { console.log('still alive'); process.exit(0); }, 200);
  `;
  const peer = await execa('node', ['--import', 'tsx', '--input-type=module', '-e', script(`Object.assign(new Error('Connection lost before handshake'), { level: 'protocol' })`)], { reject: false });
  assert.equal(peer.exitCode, 0, peer.stderr);
  assert.match(peer.stdout, /a peer connection failed without a handler/);
  assert.match(peer.stdout, /still alive/);
  const bug = await execa('node', ['--import', 'tsx', '--input-type=module', '-e', script(`new TypeError('x is not a function')`)], { reject: false });
  assert.equal(bug.exitCode, 1);
  assert.match(bug.stdout, /unexpected error; exiting so a fresh process takes over/);
  assert.doesNotMatch(bug.stdout, /still alive/);
});
