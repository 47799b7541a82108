// The container image as operators run it (issue 16 items 1 and 2): built from the repository's
// Dockerfile by scripts/podman-build-image.sh, which scripts/test.sh runs first (on a local
// stand-in for node:20-bookworm-slim, no registry being reachable here),
// started with a data volume, logged in to over HTTP and SSH (a real session to a real loopback
// sshd), stopped with SIGTERM while that session is live: the process exits by itself within
// podman's 10 s, and the recording of the live session is complete. Then the scale-out variant:
// `bastion server` and `bastion gateway` containers on one PostgreSQL.
// Start times are reported (t.diagnostic), never asserted.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ClientChannel } from 'ssh2';
import { sshdUnavailable, startSshd, type Sshd } from './helpers/sshd.ts';
import { freePort } from './helpers/ports.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { startPostgres, type Postgres } from './helpers/postgres.ts';
import { IMAGE, RUN_OPTS, createVolume, imageMissing, imageSize, podman, podmanUnavailable, runContainer, waitReady } from './helpers/podman.ts';
import { Screen, eventually, ssh2Login } from './gatewayFixture.ts';

const skip = podmanUnavailable() ?? sshdUnavailable();
const ADMIN_PASSWORD = 'Container-admin-pass-1';
const METRICS_TOKEN = 'container-metrics-token-0123456789';
const SECRET_KEY = randomBytes(24).toString('hex');

interface JsonLine { msg?: string; user?: string; asset?: string; bytesIn?: number; bytesOut?: number; status?: string }
const jsonLines = (text: string): JsonLine[] => text.split('\n').flatMap((l) => {
  if (!l.startsWith('{')) return [];
  try { return [JSON.parse(l) as JsonLine]; } catch { return []; }
});

/** Grants `username` the asset web01 (the loopback sshd) through the API; returns nothing. */
async function grantWeb01(admin: ApiClient, sshd: Sshd, userId: string): Promise<void> {
  const asset = await admin.post('/assets', { name: 'web01', address: sshd.host, port: sshd.port });
  assert.equal(asset.status, 201, JSON.stringify(asset.body));
  const su = await admin.post('/system-users', { name: 'app', username: sshd.username, password: sshd.password });
  assert.equal(su.status, 201, JSON.stringify(su.body));
  const p = await admin.post('/permissions', { name: 'admin-web01', users: [userId], assets: [asset.body.id], systemUsers: [su.body.id], actions: ['connect'] });
  assert.equal(p.status, 201, JSON.stringify(p.body));
}

async function openShell(port: number, login: string, password: string) {
  const client = await ssh2Login(port, { username: login, password });
  const stream = await new Promise<ClientChannel>((resolve, reject) => {
    client.shell({ term: 'xterm', cols: 80, rows: 24 }, (err, s) => (err ? reject(err) : resolve(s)));
  });
  return { client, screen: new Screen(stream) };
}

describe('container image', { skip }, () => {
  let sshd: Sshd;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    const missing = await imageMissing();
    if (missing) throw new Error(missing);
    process.stdout.write(`# image size ${((await imageSize()) / 1e6).toFixed(0)} MB\n`);
    sshd = await startSshd();
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await sshd?.stop();
  });

  test('bastion start: ready, HTTP and SSH logins, metrics; SIGTERM ends it in time with the live session recorded', async (t) => {
    const volume = await createVolume();
    cleanups.push(volume.remove);
    const [httpPort, sshPort] = [await freePort(), await freePort()];
    const env = {
      BASTION_HTTP_PORT: String(httpPort), BASTION_SSH_PORT: String(sshPort), BASTION_BIND: '127.0.0.1',
      BASTION_ADMIN_PASSWORD: ADMIN_PASSWORD, BASTION_METRICS_TOKEN: METRICS_TOKEN, SECRET_KEY,
    };
    const base = `http://127.0.0.1:${httpPort}`;
    const startedAt = performance.now();
    const c = await runContainer({ env, volume: volume.name });
    cleanups.push(c.remove);
    await waitReady(`${base}/readyz`, 120_000, c);
    t.diagnostic(`start to ready: ${Math.round(performance.now() - startedAt)} ms (podman run included)`);
    const ready = await (await fetch(`${base}/readyz`)).json();
    assert.deepEqual(ready, { status: 'ready', checks: { database: 'ok', recordings: 'ok', gateway: 'ok' } });
    // The image's HEALTHCHECK passes.
    assert.equal((await podman(['healthcheck', 'run', c.name], { reject: false })).exitCode, 0);
    // The web app was built into the image.
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="root">/);

    const admin = await loggedIn(base, 'admin', ADMIN_PASSWORD);
    const me = await admin.get('/me');
    await grantWeb01(admin, sshd, me.body.id);

    const { client, screen } = await openShell(sshPort, 'admin@web01', ADMIN_PASSWORD);
    await screen.send('echo live-before-stop-$((6*7))\r', 'live-before-stop-42');
    const metrics = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    assert.match(metrics, /^bastion_live_sessions\{kind="shell"\} 1$/m);
    assert.match(metrics, /^bastion_logins_total\{channel="ssh",result="ok"\} 1$/m);

    // podman stop: SIGTERM, then SIGKILL after 10 s. Exit code 0 means the process ended by itself in time.
    const exitCode = await c.stop(10);
    client.end();
    assert.equal(exitCode, 0);
    assert.match(screen.text, /the gateway is shutting down/);

    // Logs on a non-terminal are JSON lines: one at the start and one at the end of the session.
    const lines = jsonLines(await c.logs());
    const startLine = lines.find((l) => l.msg === 'session started');
    const endLine = lines.find((l) => l.msg === 'session ended');
    assert.equal(startLine?.user, 'admin');
    assert.equal(startLine?.asset, 'web01');
    assert.equal(endLine?.user, 'admin');
    assert.equal(endLine?.asset, 'web01');
    assert.ok((endLine?.bytesOut ?? 0) > 0 && (endLine?.bytesIn ?? 0) > 0);

    // The same volume, a new container: the session was closed and its recording is whole.
    const again = await runContainer({ env, volume: volume.name });
    cleanups.push(again.remove);
    await waitReady(`${base}/readyz`, 120_000, again);
    const auditor = await loggedIn(base, 'admin', ADMIN_PASSWORD);
    const sessions = await auditor.get('/sessions');
    assert.equal(sessions.body.total, 1);
    const [row] = sessions.body.items as Array<{ id: string; status: string; endReason: string; recordingIncomplete: boolean }>;
    assert.equal(row!.status, 'closed');
    assert.equal(row!.endReason, 'the gateway is shutting down');
    assert.equal(row!.recordingIncomplete, false);
    const cast = await auditor.request('GET', `/sessions/${row!.id}/recording`);
    assert.equal(cast.status, 200);
    const castLines = String(cast.body).trim().split('\n').map((l) => JSON.parse(l) as unknown);
    assert.equal((castLines[0] as { version: number }).version, 2);
    const output = castLines.slice(1).filter((e): e is [number, string, string] => Array.isArray(e) && e[1] === 'o').map((e) => e[2]).join('');
    assert.match(output, /live-before-stop-42/);
    assert.equal(await again.stop(10), 0);
  });

  test('bastion server and bastion gateway containers share one PostgreSQL', async (t) => {
    const pg = await startPostgres();
    if ('skip' in pg) throw new Error(`PostgreSQL is needed here: ${pg.skip}`);
    cleanups.push(() => (pg as Postgres).stop());
    const [httpPort, sshPort, opsPort] = [await freePort(), await freePort(), await freePort()];
    const common = { DATABASE_URL: pg.url, SECRET_KEY, BASTION_ADMIN_PASSWORD: ADMIN_PASSWORD, BASTION_BIND: '127.0.0.1' };
    const serverVolume = await createVolume();
    const gatewayVolume = await createVolume();
    cleanups.push(serverVolume.remove, gatewayVolume.remove);
    const startedAt = performance.now();
    const server = await runContainer({ env: { ...common, BASTION_HTTP_PORT: String(httpPort) }, volume: serverVolume.name, args: ['server'] });
    cleanups.push(server.remove);
    const gateway = await runContainer({
      env: { ...common, BASTION_SSH_PORT: String(sshPort), BASTION_METRICS_PORT: String(opsPort), BASTION_GATEWAY_WORKERS: '0' },
      volume: gatewayVolume.name, args: ['gateway'],
    });
    cleanups.push(gateway.remove);
    const base = `http://127.0.0.1:${httpPort}`;
    await waitReady(`${base}/readyz`, 120_000, server);
    await waitReady(`http://127.0.0.1:${opsPort}/readyz`, 120_000, gateway);
    t.diagnostic(`server and gateway on PostgreSQL, start to ready: ${Math.round(performance.now() - startedAt)} ms`);
    assert.deepEqual(await (await fetch(`${base}/readyz`)).json(), { status: 'ready', checks: { database: 'ok', recordings: 'ok' } });
    assert.deepEqual(await (await fetch(`http://127.0.0.1:${opsPort}/readyz`)).json(), { status: 'ready', checks: { database: 'ok', recordings: 'ok', gateway: 'ok' } });
    // `bastion migrate` as the command: the server applied every migration at start.
    const migrate = await podman(['run', '--rm', ...RUN_OPTS, '-e', `DATABASE_URL=${pg.url}`, '-e', `SECRET_KEY=${SECRET_KEY}`, IMAGE, 'migrate']);
    assert.equal(String(migrate.stdout).trim(), 'database is up to date');
    // The gateway-only container's HEALTHCHECK uses its ops port.
    assert.equal((await podman(['healthcheck', 'run', gateway.name], { reject: false })).exitCode, 0);

    const admin = await loggedIn(base, 'admin', ADMIN_PASSWORD);
    await grantWeb01(admin, sshd, (await admin.get('/me')).body.id);
    const client = await ssh2Login(sshPort, { username: 'admin@web01', password: ADMIN_PASSWORD });
    const out = await new Promise<string>((resolve, reject) => {
      client.exec('echo through-the-gateway-$((6*7))', (err, stream) => {
        if (err) { reject(err); return; }
        let text = '';
        stream.on('data', (d: Buffer) => { text += d.toString(); });
        stream.on('close', () => resolve(text));
      });
    });
    client.end();
    assert.equal(out, 'through-the-gateway-42\n');
    // The web server sees the gateway's session (one database).
    const sessions = await admin.get('/sessions');
    assert.equal(sessions.body.total, 1);
    assert.equal(sessions.body.items[0].kind, 'exec');
    // The gateway's metrics (its ops port): the session, and the bus through PostgreSQL timed.
    const metrics = await eventually(
      async () => (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text(),
      (text) => /^bastion_bus_lag_seconds_count [1-9]\d*$/m.test(text),
    );
    assert.match(metrics, /^bastion_logins_total\{channel="ssh",result="ok"\} 1$/m);
    assert.match(metrics, /^bastion_live_sessions\{kind="exec"\} 0$/m);
    assert.equal(await gateway.stop(10), 0);
    assert.equal(await server.stop(10), 0);
  });
});
