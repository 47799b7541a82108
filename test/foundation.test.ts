import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { autoWorkers, loadConfig, ConfigError } from '../core/config.ts';
import { availableParallelism } from 'node:os';
import { Vault, VaultKeyError } from '../core/vault/vault.ts';
import { Secret } from '../core/vault/secret.ts';
import { redact } from '../core/audit/operationLog.ts';
import { inspect } from 'node:util';
import { startBastion } from './helpers/bastion.ts';
import { factories } from './helpers/factories.ts';
import { freePort } from './helpers/ports.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { productArgs } from './helpers/productCommand.ts';

after(cleanup);

test('config: defaults of the DESIGN contract', () => {
  const c = loadConfig({});
  assert.equal(c.sshPort, 2222);
  assert.equal(c.httpPort, 8080);
  assert.equal(c.bind, '0.0.0.0');
  assert.equal(c.database.kind, 'sqlite');
  assert.ok(c.dataDir.endsWith('/data'));
  assert.deepEqual(c.trustProxy, []);
  assert.equal(c.maxSessionsPerConnection, 10);
  assert.equal(c.maxConnectionsPerUser, 100);
  assert.equal(c.unusedConnectionTimeoutSeconds, 0);
  assert.equal(c.maxTunnelsPerConnection, 64);
});

test('config: gateway workers `auto` leave one core to the primary (1 to 4 workers), in-process on one core', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 8, 64].map((cores) => autoWorkers(cores)), [0, 1, 2, 3, 4, 4, 4]);
  assert.equal(loadConfig({}).gatewayWorkers, autoWorkers(availableParallelism()));
  assert.equal(loadConfig({ BASTION_GATEWAY_WORKERS: '2' }).gatewayWorkers, 2);
});

test('config: a bad value stops with one line naming the variable', () => {
  assert.throws(() => loadConfig({ BASTION_SSH_PORT: 'abc' }), (e: Error) => e instanceof ConfigError && /BASTION_SSH_PORT/.test(e.message));
  assert.throws(() => loadConfig({ BASTION_HTTP_PORT: '70000' }), /BASTION_HTTP_PORT/);
  assert.throws(() => loadConfig({ BASTION_BIND: 'everywhere' }), /BASTION_BIND/);
  assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/);
  assert.throws(() => loadConfig({ SECRET_KEY: 'short' }), /SECRET_KEY/);
  assert.throws(() => loadConfig({ BASTION_TRUST_PROXY: '10.0.0.0/8,bogus' }), /BASTION_TRUST_PROXY/);
  // No 0 for the per-connection caps: OpenSSH's MaxSessions 0 means "no sessions", our other limits' 0 "no limit".
  assert.throws(() => loadConfig({ BASTION_MAX_SESSIONS_PER_CONNECTION: '0' }), /BASTION_MAX_SESSIONS_PER_CONNECTION/);
  assert.throws(() => loadConfig({ BASTION_MAX_TUNNELS_PER_CONNECTION: '0' }), /BASTION_MAX_TUNNELS_PER_CONNECTION/);
  assert.throws(() => loadConfig({ BASTION_MAX_CONNECTIONS_PER_USER: '-1' }), /BASTION_MAX_CONNECTIONS_PER_USER/);
  assert.equal(loadConfig({ BASTION_MAX_CONNECTIONS_PER_USER: '0' }).maxConnectionsPerUser, 0);
  assert.throws(() => loadConfig({ BASTION_UNUSED_CONNECTION_TIMEOUT_SECONDS: '-5' }), /BASTION_UNUSED_CONNECTION_TIMEOUT_SECONDS/);
  assert.equal(loadConfig({ DATABASE_URL: 'postgres://u:p@127.0.0.1/db' }).database.kind, 'postgres');
});

test('secrets print as <secret> in JSON, inspect and strings; logs redact secret fields', () => {
  const s = new Secret('hunter2-hunter2');
  assert.equal(JSON.stringify({ s }), '{"s":"<secret>"}');
  assert.equal(inspect(s), '<secret>');
  assert.equal(`${s}`, '<secret>');
  assert.equal(JSON.stringify(loadConfig({ DATABASE_URL: 'postgres://u:topsecret@h/db' })).includes('topsecret'), false);
  assert.deepEqual(redact({ name: 'a', password: 'p', nested: { privateKey: 'k' } }), { name: 'a', password: '<redacted>', nested: { privateKey: '<redacted>' } });
});

test('vault: AES-256-GCM round trip; another key or a tampered value cannot open it', () => {
  const v = new Vault(new Secret('a'.repeat(40)));
  const sealed = v.seal('the backend password');
  assert.notEqual(sealed.includes('backend'), true);
  assert.equal(v.open(sealed).reveal(), 'the backend password');
  assert.notEqual(v.seal('same'), v.seal('same'), 'fresh IV per seal');
  assert.throws(() => new Vault(new Secret('b'.repeat(40))).open(sealed), VaultKeyError);
  const raw = Buffer.from(sealed.slice(3), 'base64');
  raw[raw.length - 1]! ^= 1;
  assert.throws(() => v.open('v1:' + raw.toString('base64')), VaultKeyError);
});

test('SECRET_KEY unset: generated once into data/secret.key (0600) and reused; a different key is refused', async () => {
  const dir = makeTempDir('bastion-vault-');
  const env = { BASTION_ADMIN_PASSWORD: undefined as unknown as string, SECRET_KEY: undefined as unknown as string };
  const first = await startBastion({ dataDir: dir, http: false, env });
  await factories(first.services).systemUser({ password: 'sealed-secret' });
  await first.stop();
  const keyFile = path.join(dir, 'secret.key');
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  const key = readFileSync(keyFile, 'utf8');
  const second = await startBastion({ dataDir: dir, http: false, env });
  await second.stop();
  assert.equal(readFileSync(keyFile, 'utf8'), key, 'the key is reused');
  await assert.rejects(startBastion({ dataDir: dir, http: false, env: { SECRET_KEY: 'z'.repeat(48) } }), VaultKeyError);
});

test('CLI: start comes up with no configuration, prints where to connect and how to log in; SIGTERM stops it cleanly', async () => {
  const dir = makeTempDir('bastion-cli-');
  const [http, ssh] = [await freePort(), await freePort()];
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', BASTION_DATA_DIR: dir, BASTION_HTTP_PORT: String(http), BASTION_SSH_PORT: String(ssh), BASTION_BIND: '127.0.0.1', BASTION_LOG_LEVEL: 'warn', BASTION_LOG_FORMAT: 'pretty' };
  // What a person sees at a terminal (off a terminal the welcome is a JSON line: the next test).
  const child = execa(process.execPath, productArgs('start'), { env, extendEnv: false, reject: false, all: true, cwd: process.cwd(), timeout: 240_000 } as const);
  let out = '';
  let exited = false;
  child.all!.on('data', (d: Buffer) => { out += d.toString(); });
  void child.then(() => { exited = true; });
  // The first start may build the web app, which takes a while on a cold machine. The welcome is
  // several lines, which can arrive apart (ci44 read its first line alone): its last one is awaited.
  for (let i = 0; i < 1800 && !exited && !out.includes('First start:'); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(out.includes('Bastion is running'), out.slice(0, 2000));
  assert.match(out, new RegExp(`http://127\\.0\\.0\\.1:${http}/`));
  assert.match(out, new RegExp(`ssh -p ${ssh} admin@127\\.0\\.0\\.1`));
  assert.match(out, /admin \/ admin/);
  const login = await fetch(`http://127.0.0.1:${http}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'admin' }) });
  assert.equal(login.status, 200);
  assert.equal((await login.json() as { mustChangePassword: boolean }).mustChangePassword, true);
  child.kill('SIGTERM');
  const res = await child;
  assert.equal(res.exitCode, 0, out);
});

test('CLI: off a terminal (a container, a service manager) the welcome is one JSON line with where to connect and how to log in', async () => {
  const dir = makeTempDir('bastion-cli-');
  const [http, ssh] = [await freePort(), await freePort()];
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', BASTION_DATA_DIR: dir, BASTION_HTTP_PORT: String(http), BASTION_SSH_PORT: String(ssh), BASTION_BIND: '127.0.0.1' };
  const child = execa(process.execPath, productArgs('start'), { env, extendEnv: false, reject: false, all: true, cwd: process.cwd(), timeout: 240_000 } as const);
  let out = '';
  let exited = false;
  child.all!.on('data', (d: Buffer) => { out += d.toString(); });
  void child.then(() => { exited = true; });
  const welcome = () => out.split('\n').map((l) => { try { return JSON.parse(l) as Record<string, unknown>; } catch { return {}; } }).find((l) => l.msg === 'bastion is running');
  for (let i = 0; i < 1800 && !exited && !welcome(); i++) await new Promise((r) => setTimeout(r, 100));
  const line = welcome();
  assert.ok(line, out.slice(0, 2000));
  assert.equal(out.includes('Bastion is running.'), false, 'no text lines among the JSON ones');
  assert.equal(line.webUrl, `http://127.0.0.1:${http}/`);
  assert.equal(line.sshCommand, `ssh -p ${ssh} admin@127.0.0.1`);
  assert.equal(line.firstLogin, 'log in as admin / admin; you will be asked to choose a new password');
  child.kill('SIGTERM');
  assert.equal((await child).exitCode, 0, out);
});

test('CLI: a bad variable stops start-up with one clear line', async () => {
  const r = await execa(process.execPath, productArgs('start'), { env: { BASTION_SSH_PORT: 'twenty' }, reject: false });
  assert.equal(r.exitCode, 1);
  assert.equal(r.stderr.trim(), 'bastion: invalid BASTION_SSH_PORT: Invalid input: expected number, received NaN');
});

test('CLI: migrate, and reset-password prints a one-time password that must be changed', async () => {
  const dir = makeTempDir('bastion-cli-');
  const env = { BASTION_DATA_DIR: dir, BASTION_LOG_LEVEL: 'silent' };
  const m = await execa(process.execPath, productArgs('migrate'), { env });
  assert.match(m.stdout, /up to date/);
  const r = await execa(process.execPath, productArgs('reset-password', 'admin'), { env });
  const pw = /one-time password for admin: (\S+)/.exec(r.stdout)?.[1];
  assert.ok(pw);
  const b = await startBastion({ dataDir: dir, env: { BASTION_ADMIN_PASSWORD: undefined as unknown as string } });
  try {
    const res = await fetch(`${b.baseUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: pw }) });
    assert.equal(res.status, 200);
    assert.equal((await res.json() as { mustChangePassword: boolean }).mustChangePassword, true);
  } finally {
    await b.stop();
  }
  const missing = await execa(process.execPath, productArgs('reset-password', 'ghost'), { env, reject: false });
  assert.equal(missing.exitCode, 1);
  assert.match(missing.stderr, /no user named 'ghost'/);
});

test('SQLite: a transaction inside another runs in it, and between transactions no async hooks are left on for the whole process', async () => {
  // In Node 20 an enabled AsyncLocalStorage keeps async hooks on for every promise and native
  // request in the process (issue 13: the gateway's CPU per byte); the one that tells a nested
  // transaction from a waiting one is on only while a transaction runs. The test runner keeps
  // hooks on in this process, so the product runs in a child of its own.
  const dir = makeTempDir('bastion-hooks-');
  const script = `
    import { executionAsyncResource } from 'node:async_hooks';
    import { loadConfig } from './core/config.ts';
    import { createServices } from './core/services.ts';
    import { SYSTEM_ACTOR } from './core/actor.ts';
    // With promise hooks on, an async function continues with its promise as the current resource.
    const hooksOn = async () => { await null; return executionAsyncResource() instanceof Promise; };
    const s = await createServices(loadConfig({ BASTION_DATA_DIR: ${JSON.stringify(dir)}, BASTION_LOG_LEVEL: 'silent', BASTION_ADMIN_PASSWORD: 'Adm1n-pass-for-tests' }));
    const seen = { inside: null, nested: false };
    await s.ds.manager.transaction(async () => {
      seen.inside = await hooksOn();
      await s.ds.manager.transaction(async () => { seen.nested = true; });
    });
    await Promise.all([1, 2, 3].map((i) => s.assets.create(SYSTEM_ACTOR, { name: 'hooks-' + i, address: '10.0.0.1' })));
    const assets = (await s.assets.list({ search: 'hooks-' })).total;
    await new Promise((r) => setTimeout(r, 5));
    console.log(JSON.stringify({ ...seen, assets, after: await hooksOn() }));
    await s.close();
  `;
  const r = await execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: path.resolve(import.meta.dirname, '..'), reject: false });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').at(-1)!), { inside: true, nested: true, assets: 3, after: false });
});

test('SQLite: a flow started inside a transaction that opens one after it ended waits its turn, not inside another running transaction', async () => {
  // The "inside a transaction" mark follows the async flow; one started inside transaction A and
  // left running (fire-and-forget) kept it after A committed, so its own transaction C, opened
  // while B ran, joined B (a savepoint on the one connection) instead of waiting: C's row was
  // rolled back with B, and B's statements ran interleaved with C's.
  const b = await startBastion({ http: false });
  try {
    const ds = b.services.ds;
    await ds.query('CREATE TABLE turn_probe (name TEXT NOT NULL)');
    const order: string[] = [];
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => { openGate = resolve; });
    let late!: Promise<void>;
    await ds.manager.transaction(async () => {
      // Started inside A, not awaited by it: resumes once B has begun.
      late = (async () => {
        await gate;
        await ds.manager.transaction(async (m) => {
          order.push('C');
          await m.query("INSERT INTO turn_probe (name) VALUES ('C')");
        });
      })();
    });
    const rolledBack = ds.manager.transaction(async (m) => {
      order.push('B begins');
      openGate();
      for (let i = 0; i < 5; i++) await m.query("INSERT INTO turn_probe (name) VALUES ('B')");
      order.push('B ends');
      throw new Error('B rolls back');
    });
    await assert.rejects(rolledBack, /B rolls back/);
    await late;
    assert.deepEqual(order, ['B begins', 'B ends', 'C'], 'C waited for B');
    assert.deepEqual(await ds.query('SELECT name FROM turn_probe'), [{ name: 'C' }], 'C committed on its own, B rolled back alone');
  } finally {
    await b.stop();
  }
});

test('concurrent writes on SQLite take turns instead of colliding on the one connection', async () => {
  const b = await startBastion({ http: false });
  try {
    const { SYSTEM_ACTOR } = await import('../core/actor.ts');
    await Promise.all(Array.from({ length: 30 }, (_, i) => b.services.assets.create(SYSTEM_ACTOR, { name: `parallel-${i}`, address: '10.0.0.1' })));
    const logins = await Promise.all(Array.from({ length: 20 }, (_, i) => b.services.authentication.password('admin', i % 2 ? 'wrong-password' : 'Adm1n-pass-for-tests', { clientAddress: `10.0.0.${i}`, channel: 'web' })));
    assert.equal(logins.filter((l) => l.ok).length, 10);
    assert.equal((await b.services.assets.list({ search: 'parallel-' })).total, 30);
    assert.equal((await b.services.auditLogs.logins({})).total, 10, 'each failure is logged once');
  } finally {
    await b.stop();
  }
});
