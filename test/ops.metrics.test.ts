// Health probes, readiness and Prometheus metrics (issue 16 item 4), in the topology `npm start`
// runs: the web server in this process (the node:cluster primary) and the SSH gateway in worker
// processes, so a session or an SSH login counted in a worker must show in the primary's /metrics.
// And the log lines (item 5): JSON when not on a terminal, short pretty lines when on one.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { renameSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startBastion, type Bastion } from './helpers/bastion.ts';
import { factories } from './helpers/factories.ts';
import { sshdUnavailable, startSshd, type Sshd } from './helpers/sshd.ts';
import { ApiClient } from './helpers/api.ts';
import { cleanup } from './helpers/tmp.ts';
import { ALICE_PASSWORD, AUTH_REFUSED, Screen, eventually, ssh2Login } from './gatewayFixture.ts';
import { startOpsListener } from '../server/opsListener.ts';
import { createLogger } from '../core/logger.ts';

const skip = sshdUnavailable();
const TOKEN = 'metrics-token-for-the-tests-0123';

/** The sample lines of a Prometheus text page (no HELP/TYPE comments). */
const samples = (text: string): string[] => text.split('\n').filter((l) => l && !l.startsWith('#'));
/** The value of one exact series, e.g. `bastion_logins_total{channel="web",result="ok"}`; undefined when absent. */
function value(text: string, series: string): number | undefined {
  const line = samples(text).find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('health, readiness and metrics', { skip }, () => {
  let b: Bastion;
  let sshd: Sshd;
  const scrape = async (token: string | null = TOKEN) => fetch(`${b.baseUrl}/metrics`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });
  const metrics = async () => {
    const res = await scrape();
    assert.equal(res.status, 200);
    return res.text();
  };

  before(async () => {
    sshd = await startSshd();
    b = await startBastion({ gateway: 'workers', env: { BASTION_METRICS_TOKEN: TOKEN } });
    const f = factories(b.services);
    const alice = await f.user({ username: 'alice', password: ALICE_PASSWORD });
    const web01 = await f.asset({ name: 'web01', address: sshd.host, port: sshd.port });
    const su = await f.systemUser({ name: 'app', username: sshd.username, password: sshd.password });
    await f.permission({ users: [alice.id], assets: [web01.id], systemUsers: [su.id], actions: ['connect'] });
  });
  after(async () => {
    await b?.stop();
    await sshd?.stop();
    await cleanup();
  });

  test('/healthz answers without a login', async () => {
    const res = await fetch(`${b.baseUrl}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  /** /readyz's status and body. */
  const readyz = async () => {
    const res = await fetch(`${b.baseUrl}/readyz`);
    return { status: res.status, body: await res.json() as unknown };
  };
  const READY = { status: 200, body: { status: 'ready', checks: { database: 'ok', recordings: 'ok', gateway: 'ok' } } };
  // A check that gets no answer within 2 s is a failure, as it should be; on a host loaded to
  // 30 (CI beside other work) a worker's answer can take that long, so readiness is awaited.
  const ready = () => eventually(readyz, (r) => r.status === 200, 15_000);

  test('/readyz checks the database, the recordings store and the gateway workers', async () => {
    assert.deepEqual(await ready(), READY);
  });

  test('/readyz says 503 and which part fails when recordings cannot be written', async () => {
    const dir = path.join(b.dataDir, 'recordings');
    renameSync(dir, `${dir}.away`);
    writeFileSync(dir, 'not a directory');
    try {
      const res = await fetch(`${b.baseUrl}/readyz`);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { status: 'not ready', checks: { database: 'ok', recordings: 'failed (EEXIST)', gateway: 'ok' } });
    } finally {
      rmSync(dir);
      renameSync(`${dir}.away`, dir);
    }
    assert.deepEqual(await ready(), READY);
  });

  test('/metrics on the web port needs the metrics token', async () => {
    const none = await scrape(null);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'unauthenticated');
    assert.equal((await scrape('metrics-token-for-the-tests-0124')).status, 401);
    const ok = await scrape();
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  });

  test('a failed and an ok login, web and SSH, are counted by channel and result', async () => {
    const before = await metrics();
    for (const series of ['web', 'ssh'].flatMap((c) => ['ok', 'failed'].map((r) => `bastion_logins_total{channel="${c}",result="${r}"}`))) {
      assert.equal(value(before, series), undefined, `${series} before any login`);
    }
    const api = new ApiClient(b.baseUrl);
    assert.equal((await api.login('alice', 'wrong-password')).status, 401);
    assert.equal((await api.login('alice', ALICE_PASSWORD)).status, 200);
    await assert.rejects(ssh2Login(b.sshPort, { username: 'alice', password: 'wrong-password' }), AUTH_REFUSED);
    const client = await ssh2Login(b.sshPort, { username: 'alice', password: ALICE_PASSWORD });
    client.end();
    const text = await metrics();
    assert.equal(value(text, 'bastion_logins_total{channel="web",result="failed"}'), 1);
    assert.equal(value(text, 'bastion_logins_total{channel="web",result="ok"}'), 1);
    assert.equal(value(text, 'bastion_logins_total{channel="ssh",result="failed"}'), 1);
    assert.equal(value(text, 'bastion_logins_total{channel="ssh",result="ok"}'), 1);
    // The web logins' latency, by route pattern and status.
    assert.equal(value(text, 'bastion_http_request_duration_seconds_count{method="POST",route="/api/v1/auth/login",status="401"}'), 1);
    assert.equal(value(text, 'bastion_http_request_duration_seconds_count{method="POST",route="/api/v1/auth/login",status="200"}'), 1);
  });

  test('a live shell shows in live sessions by kind while it runs, and its bytes once it ends', async () => {
    const idle = await metrics();
    assert.equal(value(idle, 'bastion_live_sessions{kind="shell"}'), 0);
    assert.equal(value(idle, 'bastion_live_sessions{kind="exec"}'), 0);
    const client = await ssh2Login(b.sshPort, { username: 'alice@web01', password: ALICE_PASSWORD });
    try {
      const stream = await new Promise<import('ssh2').ClientChannel>((resolve, reject) => {
        client.shell({ term: 'xterm', cols: 80, rows: 24 }, (err, s) => (err ? reject(err) : resolve(s)));
      });
      const screen = new Screen(stream);
      await screen.send('echo metrics-marker-$((6*7))\r', 'metrics-marker-42');
      const live = await metrics();
      assert.equal(value(live, 'bastion_live_sessions{kind="shell"}'), 1);
      assert.equal(value(live, 'bastion_live_sessions{kind="exec"}'), 0);
      stream.end('exit\n');
      await new Promise<void>((resolve) => stream.once('close', () => resolve()));
    } finally {
      client.end();
    }
    const ended = await eventually(metrics, (t) => value(t, 'bastion_live_sessions{kind="shell"}') === 0);
    assert.ok((value(ended, 'bastion_gateway_bytes_total{direction="in"}') ?? 0) >= 'echo metrics-marker-$((6*7))\rexit\r'.length);
    assert.ok((value(ended, 'bastion_gateway_bytes_total{direction="out"}') ?? 0) >= 'metrics-marker-42'.length);
    assert.equal(value(ended, 'bastion_recording_write_errors_total'), 0);
  });

  test('each process reports its own event-loop lag; jobs are counted once', async () => {
    const text = await metrics();
    const processes = samples(text).filter((l) => l.startsWith('nodejs_eventloop_lag_seconds{')).map((l) => /process="([^"]+)"/.exec(l)?.[1]).sort();
    assert.deepEqual(processes, ['gateway-worker-1', 'gateway-worker-2', 'main']);
    assert.match(text, /^# TYPE bastion_jobs gauge$/m);
    assert.match(text, /^# TYPE bastion_bus_lag_seconds histogram$/m);
  });

  test('the ops listener serves metrics and probes without a token on its own address', async () => {
    const ops = await startOpsListener(b.services, { port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`http://127.0.0.1:${ops.port}/metrics`);
      assert.equal(res.status, 200);
      assert.equal(value(await res.text(), 'bastion_logins_total{channel="web",result="ok"}'), 1);
      assert.equal((await fetch(`http://127.0.0.1:${ops.port}/readyz`)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${ops.port}/api/v1/me`)).status, 404);
    } finally {
      await ops.close();
    }
  });
});

describe('/metrics without BASTION_METRICS_TOKEN', () => {
  test('is not served on the web port', async () => {
    const b = await startBastion();
    try {
      const res = await fetch(`${b.baseUrl}/metrics`, { headers: { authorization: 'Bearer anything-at-all-0123456789' } });
      assert.equal(res.status, 404);
      assert.equal((await fetch(`${b.baseUrl}/healthz`)).status, 200);
    } finally {
      await b.stop();
    }
  });
});

describe('logs', () => {
  const capture = (isTerminal: boolean, format: 'auto' | 'json' | 'pretty' = 'auto') => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (c: Buffer) => { text += c.toString(); });
    const log = createLogger('info', format, { isTerminal, stream });
    return { log, text: () => text };
  };

  test('are JSON lines when stdout is not a terminal', () => {
    const { log, text } = capture(false);
    log.child({ user: 'alice', asset: 'web01' }).info({ bytesIn: 12, bytesOut: 34, password: 'hunter2' }, 'session ended');
    const line = JSON.parse(text().trim()) as Record<string, unknown>;
    assert.equal(line.msg, 'session ended');
    assert.equal(line.user, 'alice');
    assert.equal(line.asset, 'web01');
    assert.equal(line.bytesIn, 12);
    assert.equal(line.bytesOut, 34);
    assert.equal(line.password, '<redacted>');
  });

  test('are one short readable line on a terminal', () => {
    const { log, text } = capture(true);
    log.child({ user: 'alice', asset: 'web01' }).info({ bytesIn: 12, bytesOut: 34, password: 'hunter2' }, 'session ended');
    const out = text();
    assert.equal(out.split('\n').filter(Boolean).length, 1);
    // eslint-disable-next-line no-control-regex
    const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(plain, /^\[\d\d:\d\d:\d\d\] INFO: session ended \{"user":"alice","asset":"web01","bytesIn":12,"bytesOut":34,"password":"<redacted>"\}\n$/);
    assert.doesNotMatch(plain, /"pid"|hunter2/);
  });

  test('BASTION_LOG_FORMAT=json keeps JSON on a terminal', () => {
    const { log, text } = capture(true, 'json');
    log.info('hello');
    assert.equal((JSON.parse(text()) as { msg: string }).msg, 'hello');
  });
});
