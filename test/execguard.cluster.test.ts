// Exec guards and job filters in the topology users run: a real `bastion start` with two
// gateway worker processes; filters are made over the API (in the web process) and enforced
// by whichever worker takes the SSH connection, jobs by the web process.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import ssh2 from 'ssh2';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { startSshd, sshdUnavailable, type Sshd } from './helpers/sshd.ts';
import { freePort } from './helpers/ports.ts';
import { startProduct, stopProduct, type Product } from './helpers/product.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { eventually, Screen, sshPassword } from './gatewayFixture.ts';

const skip = sshdUnavailable();
const ADMIN_PW = 'Cluster-admin-pass-2';
const OP_PW = 'Operator-pass-2';
const REFUSED = /command refused by filter '[^']*'\r\n[\s\S]*\^C/;

describe('bastion start with two gateway workers: exec sessions and jobs are guarded', { skip }, () => {
  let sshd: Sshd;
  let product: Product | undefined;
  let sshPort: number;
  let admin: ApiClient;
  let op: ApiClient;
  const ids: Record<string, string> = {};
  const markers: string[] = [];
  const marker = (what: string) => {
    const path = `/tmp/bastion-egcluster-${process.pid}-${what}`;
    markers.push(path);
    return path;
  };

  before(async () => {
    sshd = await startSshd();
    const httpPort = await freePort();
    sshPort = await freePort();
    product = await startProduct('start', {
      BASTION_DATA_DIR: makeTempDir('bastion-egcluster-'), BASTION_HTTP_PORT: String(httpPort), BASTION_SSH_PORT: String(sshPort),
      BASTION_GATEWAY_WORKERS: '2', BASTION_ADMIN_PASSWORD: ADMIN_PW,
    });
    admin = await loggedIn(`http://127.0.0.1:${httpPort}`, 'admin', ADMIN_PW);
    ids.user = (await admin.post('/users', { username: 'egop', password: OP_PW, mustChangePassword: false })).body.id;
    ids.asset = (await admin.post('/assets', { name: 'web01', address: '127.0.0.1', port: sshd.port })).body.id;
    ids.su = (await admin.post('/system-users', { name: 'acct', username: sshd.username, password: sshd.password })).body.id;
    await admin.post('/permissions', { name: 'egop-web01', users: [ids.user], assets: [ids.asset], systemUsers: [ids.su] });
    // The filter is made in the web process; the workers hear of it over the bus.
    ids.filter = (await admin.post('/command-filters', { name: 'no-touch', kind: 'commands', pattern: 'touch', action: 'deny', users: [ids.user] })).body.id;
    op = await loggedIn(`http://127.0.0.1:${httpPort}`, 'egop', OP_PW);
  });

  after(async () => {
    for (const m of markers) rmSync(m, { force: true });
    await stopProduct(product);
    await sshd?.stop();
    await cleanup();
  });

  test('echo cmd | ssh … bash is refused by the worker with its one line; nothing runs', async () => {
    const path = marker('stdin');
    for (let i = 0; i < 2; i++) {
      const r = await sshPassword(sshPort, 'egop@web01', OP_PW, ['bash'], { input: `touch ${path}\n` });
      assert.equal(r.exitCode, 1, String(r.stderr));
      assert.equal(String(r.stderr).trim(), "[bastion] command refused: 'bash' would read its commands from stdin, where command filters cannot check them; use a terminal (ssh -t) or pass the commands as the command");
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(existsSync(path), false);
  });

  test('ssh -t … bash -i: a denied line sent with Ctrl-O is refused in the worker and logged', async () => {
    const path = marker('pty');
    const client = await new Promise<InstanceType<typeof ssh2.Client>>((resolve, reject) => {
      const c = new ssh2.Client();
      c.once('ready', () => resolve(c)).once('error', reject).connect({ host: '127.0.0.1', port: sshPort, username: 'egop@web01', password: OP_PW, readyTimeout: 20_000 });
    });
    try {
      const screen = await new Promise<Screen>((resolve, reject) => {
        client.exec('bash -i', { pty: { term: 'xterm', rows: 24, cols: 100 } }, (err, stream) => (err ? reject(err) : resolve(new Screen(stream))));
      });
      await screen.waitFor(/\$ (\x1b\[K)?$/);
      await screen.send(`touch ${path}\x0f`, REFUSED);
      await screen.send('echo caught-up-$((40+2))\r', /caught-up-42\r\n/);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(existsSync(path), false);
    } finally {
      client.end();
    }
    const rows = await eventually(async () => (await admin.get('/commands?limit=50')).body.items as Array<{ input: string; risk: string }>, (items) => items.some((c) => c.risk === 'denied' && c.input === `touch ${path}`));
    assert.ok(rows.some((c) => c.input === 'bash -i'), JSON.stringify(rows.map((c) => [c.input, c.risk])));
    assert.equal(rows.find((c) => c.input === `touch ${path}`)?.risk, 'denied');
  });

  test('an operator\'s job with a denied command is refused per asset, the filter named', async () => {
    const path = marker('job');
    const r = await op.post('/jobs', { kind: 'command', assets: [ids.asset], systemUser: ids.su, command: `touch ${path}` });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const job = await eventually(async () => (await op.get(`/jobs/${r.body.id}`)).body, (j) => j.status !== 'queued' && j.status !== 'running', 20_000);
    assert.equal(job.status, 'failed');
    assert.deepEqual(job.results.map((x: { assetName: string; ok: boolean; output: string }) => [x.assetName, x.ok, x.output]), [['web01', false, "refused by command filter 'no-touch'; nothing ran"]]);
    assert.equal(existsSync(path), false);
  });
});
