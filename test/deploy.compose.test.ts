// The compose files as operators start them (issue 16 item 2), with podman-compose: compose.yaml
// (bastion + PostgreSQL, named volumes) and compose.scale.yaml (web server + two SSH gateways on
// one PostgreSQL, recordings in an S3-compatible store). No registry is reachable here, so the
// upstream images are replaced through the files' own image variables by local stand-ins built
// from Debian packages (scripts/podman-service-images.sh: PostgreSQL 15 with the official image's
// entrypoint contract, s3rver behind `minio server` and `mc`); the bastion image is the repository's
// Dockerfile (scripts/podman-build-image.sh). scripts/test.sh builds all of them before this suite.
//
// What is the test's own (compose.test.yaml, written beside a copy of the file): the bastion
// containers run on the host network, to reach the loopback sshd that plays the backend, so they
// reach PostgreSQL and S3 through ports published on 127.0.0.1 (free ones). podman-compose 1.0.3
// ignores depends_on conditions, so the test starts what the bastion depends on first and waits
// for its healthcheck (or, for the bucket job, its exit), as docker compose does by itself.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { sshdUnavailable, startSshd, type Sshd } from './helpers/sshd.ts';
import { freePort } from './helpers/ports.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { IMAGE, imageMissing, podmanUnavailable, waitReady } from './helpers/podman.ts';
import { SERVICE_IMAGES, composeProject, podmanComposeUnavailable, type ComposeProject } from './helpers/podmanCompose.ts';
import { cleanup } from './helpers/tmp.ts';
import { eventually, openShell, ssh2Login } from './gatewayFixture.ts';

const skip = podmanUnavailable() ?? podmanComposeUnavailable() ?? sshdUnavailable();
const ADMIN_PASSWORD = 'Compose-admin-pass-1';

/** What every project's .env holds: the secrets compose.yaml asks for, and the local images. */
function baseEnv() {
  return {
    SECRET_KEY: randomBytes(24).toString('hex'),
    POSTGRES_PASSWORD: randomBytes(12).toString('hex'),
    BASTION_ADMIN_PASSWORD: ADMIN_PASSWORD,
    BASTION_IMAGE: IMAGE,
    BASTION_POSTGRES_IMAGE: SERVICE_IMAGES.postgres,
  };
}

async function grantWeb01(admin: ApiClient, sshd: Sshd): Promise<void> {
  const me = await admin.get('/me');
  const asset = await admin.post('/assets', { name: 'web01', address: sshd.host, port: sshd.port });
  assert.equal(asset.status, 201, JSON.stringify(asset.body));
  const su = await admin.post('/system-users', { name: 'app', username: sshd.username, password: sshd.password });
  assert.equal(su.status, 201, JSON.stringify(su.body));
  const p = await admin.post('/permissions', { name: 'admin-web01', users: [me.body.id], assets: [asset.body.id], systemUsers: [su.body.id], actions: ['connect'] });
  assert.equal(p.status, 201, JSON.stringify(p.body));
}

/** A real shell on web01 through the gateway on `port`: types a line, sees its output, exits. */
async function shellThrough(port: number, marker: string): Promise<void> {
  const client = await ssh2Login(port, { username: 'admin@web01', password: ADMIN_PASSWORD });
  try {
    const screen = await openShell(client);
    await screen.send(`echo ${marker}-$((6*7)); whoami\r`, new RegExp(`${marker}-42`));
    screen.stream.write('exit\r');
    await screen.whenClosed();
  } finally {
    client.end();
  }
}

async function rows(url: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

/** A compose file as data (PyYAML: podman-compose's own parser, so present wherever it is). */
function composeFile(file: string): { services: Record<string, { image?: string; network_mode?: string; depends_on?: Record<string, { condition: string }> }> } {
  const path = fileURLToPath(new URL(`../${file}`, import.meta.url));
  const json = execFileSync('python3', ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', path], { encoding: 'utf8' });
  return JSON.parse(json);
}

test('compose files name the upstream images by default, each overridable from .env, and gate starts on health', { skip: existsSync('/usr/lib/python3/dist-packages/yaml') ? undefined : 'python3-yaml is missing (podman-compose depends on it)' }, () => {
  const upstream: Record<string, string> = {
    BASTION_IMAGE: 'bastion:latest',
    BASTION_POSTGRES_IMAGE: 'docker.io/library/postgres:16-bookworm',
    BASTION_S3_IMAGE: 'quay.io/minio/minio:latest',
    BASTION_S3_CLIENT_IMAGE: 'quay.io/minio/mc:latest',
  };
  for (const file of ['compose.yaml', 'compose.scale.yaml']) {
    const { services } = composeFile(file);
    for (const [name, service] of Object.entries(services)) {
      const m = /^\$\{(BASTION_[A-Z0-9_]*IMAGE):-([^}]+)\}$/.exec(service.image ?? '');
      assert.ok(m, `${file}: ${name}'s image ${service.image} is not \${BASTION_…_IMAGE:-default}`);
      assert.equal(m[2], upstream[m[1]!], `${file}: ${name}'s default image`);
      // Host networking is the test's own override (test-only), never the users' file.
      assert.equal(service.network_mode, undefined, `${file}: ${name}`);
    }
    // docker compose starts the bastion only once PostgreSQL is healthy.
    assert.equal(services.bastion?.depends_on?.postgres?.condition, 'service_healthy', file);
  }
});

describe('compose files (podman-compose)', { skip }, () => {
  let sshd: Sshd;
  const projects: ComposeProject[] = [];

  before(async () => {
    for (const image of [IMAGE, SERVICE_IMAGES.postgres, SERVICE_IMAGES.s3]) {
      const missing = await imageMissing(image);
      if (missing) throw new Error(`${missing} (scripts/podman-service-images.sh builds the PostgreSQL and S3 stand-ins)`);
    }
    sshd = await startSshd();
  });
  after(async () => {
    for (const p of projects) await p.remove().catch(() => undefined);
    await sshd?.stop();
    await cleanup();
  });

  test('compose.yaml: bastion on PostgreSQL, logins over HTTP and SSH, data kept across down and up', async () => {
    const [pgPort, httpPort, sshPort] = [await freePort(), await freePort(), await freePort()];
    const env = { ...baseEnv(), TEST_PG_PORT: String(pgPort), TEST_HTTP_PORT: String(httpPort), TEST_SSH_PORT: String(sshPort) };
    const project = composeProject(`bastiontest${process.pid}one`, 'compose.yaml', ['postgres', 'bastion'], env, `
services:
  postgres:
    ports: ["127.0.0.1:\${TEST_PG_PORT}:5432"]
  bastion:
    network_mode: host
    environment:
      DATABASE_URL: postgres://bastion:\${POSTGRES_PASSWORD}@127.0.0.1:\${TEST_PG_PORT}/bastion
      BASTION_BIND: 127.0.0.1
      BASTION_HTTP_PORT: "\${TEST_HTTP_PORT}"
      BASTION_SSH_PORT: "\${TEST_SSH_PORT}"
      BASTION_GATEWAY_WORKERS: "0"
`);
    projects.push(project);
    const base = `http://127.0.0.1:${httpPort}`;
    const dbUrl = `postgres://bastion:${env.POSTGRES_PASSWORD}@127.0.0.1:${pgPort}/bastion`;
    const start = async () => {
      await project.up('postgres');
      await project.healthy('postgres');
      await project.up();
      await waitReady(`${base}/readyz`, 120_000);
    };

    await start();
    assert.deepEqual(await (await fetch(`${base}/readyz`)).json(), { status: 'ready', checks: { database: 'ok', recordings: 'ok', gateway: 'ok' } });
    await project.healthy('bastion'); // the image's HEALTHCHECK
    const admin = await loggedIn(base, 'admin', ADMIN_PASSWORD);
    await grantWeb01(admin, sshd);
    await shellThrough(sshPort, 'compose-one');
    // The rows are in the compose PostgreSQL (the password from .env opens it).
    assert.deepEqual(await rows(dbUrl, `SELECT name, address FROM asset`), [{ name: 'web01', address: sshd.host }]);
    const sessionRows = await eventually(() => rows(dbUrl, `SELECT kind, status FROM session`), (r) => r[0]?.status === 'closed');
    assert.deepEqual(sessionRows, [{ kind: 'shell', status: 'closed' }]);

    // down removes the containers; the named volumes keep the database and the host keys.
    await project.down();
    assert.equal((await fetch(`${base}/readyz`).catch(() => null)), null);
    await start();
    const again = await loggedIn(base, 'admin', ADMIN_PASSWORD);
    const sessions = await again.get('/sessions');
    assert.equal(sessions.body.total, 1);
    assert.equal((await again.get('/assets')).body.items[0].name, 'web01');
    await shellThrough(sshPort, 'compose-one-again');
    assert.equal((await again.get('/sessions')).body.total, 2);
    await project.down();
    await project.remove();
  });

  test('compose.scale.yaml: a web server and two gateways on one PostgreSQL, recordings in S3, played back by the server', async () => {
    const ports = { pg: await freePort(), s3: await freePort(), http: await freePort(), ssh1: await freePort(), ssh2: await freePort(), ops1: await freePort(), ops2: await freePort() };
    const env = {
      ...baseEnv(),
      BASTION_S3_IMAGE: SERVICE_IMAGES.s3,
      BASTION_S3_CLIENT_IMAGE: SERVICE_IMAGES.s3,
      MINIO_ROOT_USER: 'bastion-recorder',
      MINIO_ROOT_PASSWORD: randomBytes(12).toString('hex'),
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [`TEST_${k.toUpperCase()}_PORT`, String(v)])),
    };
    const hostEnv = `
      DATABASE_URL: postgres://bastion:\${POSTGRES_PASSWORD}@127.0.0.1:\${TEST_PG_PORT}/bastion
      BASTION_S3_ENDPOINT: http://127.0.0.1:\${TEST_S3_PORT}
      BASTION_BIND: 127.0.0.1
      BASTION_METRICS_BIND: 127.0.0.1
      BASTION_GATEWAY_WORKERS: "0"`;
    const project = composeProject(`bastiontest${process.pid}scale`, 'compose.scale.yaml', ['postgres', 'minio', 'minio-bucket', 'bastion', 'gateway-1', 'gateway-2'], env, `
services:
  postgres:
    ports: ["127.0.0.1:\${TEST_PG_PORT}:5432"]
  minio:
    ports: ["127.0.0.1:\${TEST_S3_PORT}:9000"]
  bastion:
    network_mode: host
    environment:${hostEnv}
      BASTION_HTTP_PORT: "\${TEST_HTTP_PORT}"
  gateway-1:
    network_mode: host
    environment:${hostEnv}
      BASTION_SSH_PORT: "\${TEST_SSH1_PORT}"
      BASTION_METRICS_PORT: "\${TEST_OPS1_PORT}"
  gateway-2:
    network_mode: host
    environment:${hostEnv}
      BASTION_SSH_PORT: "\${TEST_SSH2_PORT}"
      BASTION_METRICS_PORT: "\${TEST_OPS2_PORT}"
`);
    projects.push(project);
    await project.up('postgres', 'minio');
    await project.healthy('postgres');
    await project.healthy('minio');
    await project.up('minio-bucket');
    assert.equal(await project.exited('minio-bucket'), 0, await project.logs('minio-bucket'));
    await project.up();
    const base = `http://127.0.0.1:${ports.http}`;
    await waitReady(`${base}/readyz`, 120_000);
    await waitReady(`http://127.0.0.1:${ports.ops1}/readyz`, 120_000);
    await waitReady(`http://127.0.0.1:${ports.ops2}/readyz`, 120_000);
    for (const ops of [ports.ops1, ports.ops2]) {
      assert.deepEqual(await (await fetch(`http://127.0.0.1:${ops}/readyz`)).json(), { status: 'ready', checks: { database: 'ok', recordings: 'ok', gateway: 'ok' } });
    }
    // The image's HEALTHCHECK: on the web port for the server, on the ops port for the gateways.
    for (const service of ['bastion', 'gateway-1', 'gateway-2']) await project.healthy(service);

    const admin = await loggedIn(base, 'admin', ADMIN_PASSWORD);
    await grantWeb01(admin, sshd);
    await shellThrough(ports.ssh1, 'through-gateway-one');
    await shellThrough(ports.ssh2, 'through-gateway-two');

    // Both sessions, recorded by two gateways, are in the S3 store and played back by the server.
    const s3 = new S3Client({
      endpoint: `http://127.0.0.1:${ports.s3}`, region: 'us-east-1', forcePathStyle: true,
      credentials: { accessKeyId: env.MINIO_ROOT_USER, secretAccessKey: env.MINIO_ROOT_PASSWORD },
    });
    const sessions = await eventually(async () => (await admin.get('/sessions')).body as { total: number; items: Array<{ id: string; status: string }> },
      (b) => b.total === 2 && b.items.every((s) => s.status === 'closed'), 20_000);
    assert.equal(sessions.total, 2);
    const keys = await eventually(
      async () => ((await s3.send(new ListObjectsV2Command({ Bucket: 'bastion-recordings', Prefix: 'recordings/' }))).Contents ?? []).map((o) => o.Key ?? ''),
      (k) => sessions.items.every((s) => k.some((key) => key.endsWith(`/${s.id}.cast`))), 20_000);
    const seen: string[] = [];
    for (const session of sessions.items) {
      const key = keys.find((k) => k.endsWith(`/${session.id}.cast`))!;
      const stored = await (await s3.send(new GetObjectCommand({ Bucket: 'bastion-recordings', Key: key }))).Body!.transformToString();
      const played = await admin.request('GET', `/sessions/${session.id}/recording`);
      assert.equal(played.status, 200);
      const lines = String(played.body).trim().split('\n').map((l) => JSON.parse(l) as unknown);
      assert.equal((lines[0] as { version: number }).version, 2);
      const output = lines.slice(1).filter((e): e is [number, string, string] => Array.isArray(e) && e[1] === 'o').map((e) => e[2]).join('');
      const marker = /through-gateway-(one|two)-42/.exec(output)?.[0];
      assert.ok(marker, `session ${session.id} played back without its marker:\n${output}`);
      assert.ok(stored.includes(marker), `the S3 object of session ${session.id} lacks ${marker}`);
      seen.push(marker);
    }
    // One session through each gateway.
    assert.deepEqual(seen.sort(), ['through-gateway-one-42', 'through-gateway-two-42']);
    s3.destroy();
    await project.down();
    await project.remove();
  });
});
