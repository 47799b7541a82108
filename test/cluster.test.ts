import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import ssh2 from 'ssh2';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { startSshd, sshdUnavailable, type Sshd } from './helpers/sshd.ts';
import { freePort } from './helpers/ports.ts';
import { startProduct, stopProduct, type Product } from './helpers/product.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';

const ADMIN_PW = 'Cluster-admin-pass-1';
let sshd: Sshd;
let product: Product | undefined;
let httpPort: number;
let sshPort: number;
let admin: ApiClient;
let permId: string;

before(async () => {
  if (sshdUnavailable()) return;
  sshd = await startSshd();
  [httpPort, sshPort] = [await freePort(), await freePort()];
  product = await startProduct('start', {
    BASTION_DATA_DIR: makeTempDir('bastion-cluster-'), BASTION_HTTP_PORT: String(httpPort), BASTION_SSH_PORT: String(sshPort),
    BASTION_GATEWAY_WORKERS: '2', BASTION_ADMIN_PASSWORD: ADMIN_PW,
  }, { logLevel: process.env.CLUSTER_LOG ?? 'warn', echoVar: 'CLUSTER_LOG', timeoutMs: 240_000 });
  admin = await loggedIn(`http://127.0.0.1:${httpPort}`, 'admin', ADMIN_PW);
  const user = (await admin.post('/users', { username: 'op', password: 'Operator-pass-1', mustChangePassword: false })).body;
  const asset = (await admin.post('/assets', { name: 'web01', address: '127.0.0.1', port: sshd.port })).body;
  const su = (await admin.post('/system-users', { name: 'acct', username: sshd.username, password: sshd.password })).body;
  permId = (await admin.post('/permissions', { name: 'op-web01', users: [user.id], assets: [asset.id], systemUsers: [su.id] })).body.id;
});

after(async () => {
  await stopProduct(product);
  await sshd?.stop();
  await cleanup();
});

function exec(command: string): Promise<{ out: string; code: number | null } | { error: string }> {
  return new Promise((resolve) => {
    const c = new ssh2.Client();
    c.on('ready', () => c.exec(command, (err, stream) => {
      if (err) { c.end(); resolve({ error: err.message }); return; }
      let out = '';
      let code: number | null = null;
      stream.on('data', (d: Buffer) => { out += d; }).stderr.on('data', (d: Buffer) => { out += d; });
      stream.on('exit', (c2: number) => { code = c2; }).on('close', () => { c.end(); resolve({ out: out.trim(), code }); });
    })).on('error', (e) => resolve({ error: e.message }))
      .connect({ host: '127.0.0.1', port: sshPort, username: 'op@web01', password: 'Operator-pass-1', readyTimeout: 20_000 });
  });
}

test('with two gateway workers, sessions land on workers and run', async (t) => {
  if (sshdUnavailable()) { t.skip(sshdUnavailable()!); return; }
  const results = await Promise.all(Array.from({ length: 6 }, () => exec('id -un')));
  for (const r of results) assert.deepEqual(r, { out: sshd.username, code: 0 }, JSON.stringify((await admin.get('/audit/logins')).body.items.slice(0, 3)));
  const sessions = (await admin.get('/sessions?limit=100')).body;
  assert.ok(sessions.total >= 6);
});

test('a permission disabled in the web process takes effect in the workers at once (access.changed over the bus)', async (t) => {
  if (sshdUnavailable()) { t.skip(sshdUnavailable()!); return; }
  assert.equal((await admin.patch(`/permissions/${permId}`, { active: false })).status, 200);
  for (let i = 0; i < 4; i++) {
    const r = await exec('id -un');
    assert.ok(!('out' in r) || r.code !== 0, `connection ${i} must be refused: ${JSON.stringify(r)}`);
  }
  await admin.patch(`/permissions/${permId}`, { active: true });
  assert.deepEqual(await exec('id -un'), { out: sshd.username, code: 0 });
});
