// The data directory (DESIGN "Contracts": data/, secret.key 0600): private modes for the
// directory and every file in it, fixed at start-up when looser; and a race-free first
// start when several processes come up at once on one empty data directory.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import { ADMIN_PASSWORD } from './helpers/bastion.ts';
import { eventually, ssh2Exec, ssh2Login, startWorld } from './gatewayFixture.ts';
import { SessionEntity } from '../core/db/entities/index.ts';
import { recordingsDir, recordingFile } from './helpers/recordings.ts';
import { securePrivateDir } from '../core/dataDir.ts';
import { productArgs } from './helpers/productCommand.ts';

const mode = (p: string) => statSync(p).mode & 0o777;

function env(dataDir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root',
    BASTION_DATA_DIR: dataDir, BASTION_HTTP_PORT: '0', BASTION_SSH_PORT: '0', BASTION_BIND: '127.0.0.1',
    BASTION_GATEWAY_WORKERS: '0', BASTION_ADMIN_PASSWORD: ADMIN_PASSWORD, BASTION_LOG_LEVEL: 'info', BASTION_LOG_FORMAT: 'json',
  };
}

/** `bastion gateway` until its welcome line; returns the host key fingerprints it logged and a stopper. */
async function startGatewayProcess(dataDir: string): Promise<{ fingerprints: string[]; output: () => string; stop: () => Promise<number | undefined> }> {
  const child = execa(process.execPath, productArgs('gateway'), { env: env(dataDir), extendEnv: false, reject: false, all: true, timeout: 180_000 });
  let out = '';
  let exited = false;
  child.all!.on('data', (d: Buffer) => { out += d.toString(); });
  void child.then(() => { exited = true; });
  // JSON logs (the host keys are read from the 'ssh gateway listening' line): the welcome is a JSON line too.
  const running = '"msg":"bastion is running"';
  for (let i = 0; i < 1800 && !exited && !(out.includes(running) && out.includes('ssh gateway listening')); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(out.includes(running), `gateway did not start:\n${out.slice(0, 3000)}`);
  const listening = out.split('\n').map((l) => { try { return JSON.parse(l) as { msg?: string; hostKeys?: string[] }; } catch { return {}; } }).find((l) => l.msg === 'ssh gateway listening');
  assert.ok(listening?.hostKeys, `no 'ssh gateway listening' line:\n${out.slice(0, 3000)}`);
  return {
    fingerprints: listening.hostKeys,
    output: () => out,
    stop: async () => {
      child.kill('SIGTERM');
      return (await child).exitCode;
    },
  };
}

describe('the data directory', () => {
  after(cleanup);

  test('three gateways started at once on an empty data dir all come up with the same keys (5 rounds), and every file is private', async () => {
    for (let round = 1; round <= 5; round++) {
      const dataDir = join(makeTempDir('bastion-race-'), 'data');
      const procs = await Promise.all([1, 2, 3].map(() => startGatewayProcess(dataDir)));
      try {
        const [first, ...others] = procs.map((p) => p.fingerprints);
        for (const fp of others) assert.deepEqual(fp, first, `round ${round}: the processes use different host keys`);
        if (round === 1) {
          assert.equal(mode(dataDir), 0o700, 'data dir');
          const files = readdirSync(dataDir).sort();
          for (const f of ['bastion.sqlite', 'bastion.sqlite-wal', 'bastion.sqlite-shm', 'secret.key', 'ssh_host_ed25519_key', 'ssh_host_ed25519_key.pub', 'ssh_host_rsa_key', 'ssh_host_rsa_key.pub']) {
            assert.ok(files.includes(f), `${f} missing: ${files.join(', ')}`);
          }
          for (const f of files) assert.equal(mode(join(dataDir, f)), 0o600, `${f} is ${mode(join(dataDir, f)).toString(8)}`);
          // No temporary file of the atomic creation is left behind.
          assert.deepEqual(files.filter((f) => f.endsWith('.tmp')), []);
        }
      } finally {
        const codes = await Promise.all(procs.map((p) => p.stop()));
        assert.deepEqual(codes, [0, 0, 0], procs.map((p) => p.output().slice(-1500)).join('\n-----\n'));
      }
    }
  });

  test('three `bastion migrate` at once on an empty data dir all succeed (5 rounds)', async () => {
    for (let round = 1; round <= 5; round++) {
      const dataDir = join(makeTempDir('bastion-migrate-race-'), 'data');
      const runs = await Promise.all([1, 2, 3].map(() => execa(process.execPath, productArgs('migrate'), { env: env(dataDir), extendEnv: false, reject: false, all: true, timeout: 120_000 })));
      for (const r of runs) assert.equal(r.exitCode, 0, `round ${round}:\n${r.all}`);
      for (const r of runs) assert.match(String(r.all), /database is up to date/);
      assert.equal(mode(join(dataDir, 'bastion.sqlite')), 0o600);
    }
  });

  test('a migrate that finds the database file locked by another process waits for the lock instead of failing with SQLITE_BUSY', async () => {
    const dataDir = join(makeTempDir('bastion-busy-'), 'data');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // Another process holds the file's exclusive lock for 5 s: a fresh file not yet in WAL mode,
    // so that the migrate's first statement (the switch to WAL) needs that lock.
    const holder = execa(process.execPath, ['-e', `
      const sqlite3 = require('sqlite3');
      const db = new sqlite3.Database(process.argv[1]);
      db.serialize(() => {
        db.run('CREATE TABLE held (x)');
        db.run('BEGIN EXCLUSIVE', () => {
          console.log('locked');
          setTimeout(() => db.run('COMMIT', () => db.close()), 5000);
        });
      });
    `, join(dataDir, 'bastion.sqlite')], { cwd: process.cwd(), timeout: 60_000 });
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('locked')) resolve(); });
      holder.catch(reject);
    });
    const r = await execa(process.execPath, productArgs('migrate'), { env: env(dataDir), extendEnv: false, reject: false, all: true, timeout: 120_000 });
    assert.equal(r.exitCode, 0, r.all);
    assert.match(String(r.all), /database is up to date/);
    await holder;
  });

  test('a path another process deletes while the modes are checked is passed over, not an error (SQLite closing its -shm under a second migrate)', () => {
    const dir = join(makeTempDir('bastion-vanishing-'), 'data');
    mkdirSync(join(dir, 'sub'), { recursive: true, mode: 0o700 });
    for (const f of ['a', 'b']) writeFileSync(join(dir, f), 'x', { mode: 0o644 });
    for (const p of [dir, join(dir, 'sub')]) chmodSync(p, 0o700);
    const lines: string[] = [];
    // Whichever of a and b is fixed first deletes the other (and sub) before the walk reaches them.
    securePrivateDir(dir, (line) => {
      lines.push(line);
      if (lines.length === 1) for (const p of ['a', 'b', 'sub']) if (!line.includes(join(dir, p) + ' ')) rmSync(join(dir, p), { recursive: true, force: true });
    });
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /\/(a|b) was mode 0?644, readable by others: now 0?600$/);
  });

  test('start-up tightens looser modes and names each file it fixed', async () => {
    const dataDir = join(makeTempDir('bastion-modes-'), 'data');
    const first = await execa(process.execPath, productArgs('migrate'), { env: env(dataDir), extendEnv: false, reject: false, all: true, timeout: 120_000 });
    assert.equal(first.exitCode, 0, String(first.all));
    assert.doesNotMatch(String(first.all), /readable by others/);
    mkdirSync(join(dataDir, 'recordings', '2026-01-01'), { recursive: true, mode: 0o755 });
    writeFileSync(join(dataDir, 'recordings', '2026-01-01', 'old.cast'), '{}\n', { mode: 0o644 });
    chmodSync(join(dataDir, 'recordings'), 0o755);
    chmodSync(join(dataDir, 'recordings', '2026-01-01'), 0o750);
    chmodSync(join(dataDir, 'recordings', '2026-01-01', 'old.cast'), 0o644);
    chmodSync(join(dataDir, 'bastion.sqlite'), 0o644);
    writeFileSync(join(dataDir, 'secret.key'), `${'k'.repeat(40)}\n`, { mode: 0o640 });
    chmodSync(join(dataDir, 'secret.key'), 0o640);
    chmodSync(dataDir, 0o755);
    const second = await execa(process.execPath, productArgs('migrate'), { env: env(dataDir), extendEnv: false, reject: false, all: true, timeout: 120_000 });
    assert.equal(second.exitCode, 0, String(second.all));
    const lines = String(second.all).split('\n').filter((l) => l.includes('readable by others'));
    const fixed = [dataDir, join(dataDir, 'bastion.sqlite'), join(dataDir, 'secret.key'), join(dataDir, 'recordings'), join(dataDir, 'recordings', '2026-01-01'), join(dataDir, 'recordings', '2026-01-01', 'old.cast')];
    for (const p of fixed) assert.equal(lines.filter((l) => l.includes(`bastion: ${p} was mode`)).length, 1, `one line for ${p}:\n${second.all}`);
    assert.equal(lines.length, fixed.length, String(second.all));
    assert.equal(mode(dataDir), 0o700);
    assert.equal(mode(join(dataDir, 'recordings')), 0o700);
    assert.equal(mode(join(dataDir, 'recordings', '2026-01-01')), 0o700);
    for (const f of ['bastion.sqlite', 'secret.key', 'recordings/2026-01-01/old.cast']) assert.equal(mode(join(dataDir, f)), 0o600, f);
  });

  test('recordings and their segment files are private', { skip: sshdUnavailable() }, async () => {
    const w = await startWorld();
    try {
      const client = await ssh2Login(w.gw.port, { username: 'alice@web01', password: 'Wonder-land-2024' });
      try {
        // A PTY makes it a recorded session.
        const r = await ssh2Exec(client, 'echo recorded-$((6*7))', { pty: { term: 'xterm', rows: 24, cols: 80 } });
        assert.match(r.stdout.toString(), /recorded-42/);
      } finally {
        client.end();
      }
      const s = w.bastion.services;
      const row = await eventually(() => s.ds.getRepository(SessionEntity).findOneBy({ userId: w.alice.id }), (r) => r !== null && r.status !== 'active');
      const cast = recordingFile(s, row!);
      assert.ok(cast && existsSync(cast), 'the recording exists');
      await eventually(async () => existsSync(`${cast}.seg`), (x) => x, 15_000);
      assert.ok(existsSync(`${cast}.seg`), 'the segment file exists');
      const walk = (dir: string): void => {
        assert.equal(mode(dir), 0o700, dir);
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          if (e.isDirectory()) walk(join(dir, e.name));
          else assert.equal(mode(join(dir, e.name)), 0o600, join(dir, e.name));
        }
      };
      walk(recordingsDir(s));
      assert.equal(mode(w.bastion.dataDir), 0o700);
    } finally {
      await w.stop();
    }
  });
});
