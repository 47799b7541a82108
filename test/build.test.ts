// `npm start` runs the compiled product (scripts/build-server.mjs → dist/), never tsx: from a
// checkout without dist/ it builds first and comes up; after a source changes it rebuilds,
// and only then; the primary, its gateway workers and the segment builder run plain
// JavaScript (issue 13: tsx's loader cost each process ~55 MB). In a copy of the checkout's
// server sources (no web app), so the real dist/ is not touched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { freePort } from './helpers/ports.ts';
import { PRODUCT_ROOT } from './helpers/productCommand.ts';
import { MEMORY_ENV, MEMORY_FLAGS } from '../bin/memoryFlags.ts';

const WORKERS = 2;
let root = '';

before(() => {
  root = makeTempDir('bastion-build-');
  for (const entry of ['bin', 'core', 'gateway', 'server', 'migrations', 'package.json', 'tsconfig.json', 'scripts/build-server.mjs']) {
    cpSync(path.join(PRODUCT_ROOT, entry), path.join(root, entry), { recursive: true });
  }
  symlinkSync(path.join(PRODUCT_ROOT, 'node_modules'), path.join(root, 'node_modules'));
});
after(cleanup);

/** The pids of `pid`'s children. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((e) => {
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
    } catch {
      return false;
    }
  }).map(Number);
}

const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
/** NODE_OPTIONS would add --import tsx without it showing on the command line. */
const environ = (pid: number): string[] => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');

interface Started { npm: ResultPromise; output(): string; http: number }

/** `npm start` in the copy, as a user runs it, until /readyz answers 200 (workers included). */
async function npmStart(extraEnv: Record<string, string> = {}): Promise<Started> {
  const dataDir = makeTempDir('bastion-build-data-');
  const [http, ssh] = [await freePort(), await freePort()];
  const npm = execa('npm', ['start'], {
    cwd: root, reject: false, all: true, timeout: 240_000, extendEnv: false,
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', npm_config_update_notifier: 'false',
      BASTION_DATA_DIR: dataDir, BASTION_HTTP_PORT: String(http), BASTION_SSH_PORT: String(ssh), BASTION_BIND: '127.0.0.1',
      BASTION_LOG_LEVEL: 'warn', BASTION_LOG_FORMAT: 'pretty', BASTION_GATEWAY_WORKERS: String(WORKERS),
      ...extraEnv,
    },
  });
  let out = '';
  npm.all!.on('data', (d: Buffer) => { out += d.toString(); });
  for (let i = 0; i < 2400 && npm.exitCode === null; i++) {
    const ready = await fetch(`http://127.0.0.1:${http}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) return { npm, output: () => out, http };
    await new Promise((r) => setTimeout(r, 100));
  }
  npm.kill('SIGTERM');
  await npm;
  assert.fail(`npm start did not get ready:\n${out.slice(0, 3000)}`);
}

async function stop(s: Started): Promise<void> {
  s.npm.kill('SIGTERM');
  const r = await s.npm;
  assert.equal(r.exitCode, 0, s.output().slice(-2000));
}

/** What `pid` has loaded of CommonJS, asked through test/helpers/loadedModules.mjs (SIGUSR2). */
async function loadedModules(pid: number, dir: string): Promise<string[]> {
  const file = path.join(dir, `${pid}.json`);
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 200 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 50));
  return JSON.parse(readFileSync(file, 'utf8')) as string[];
}

const loads = (modules: string[], pkg: string): boolean => modules.some((m) => m.includes(`/node_modules/${pkg}/`));

test('npm start from a checkout without dist/ builds it, comes up ready, and no process of it runs tsx', async () => {
  assert.equal(existsSync(path.join(root, 'dist')), false);
  // Each process says what it has loaded on SIGUSR2 (a test hook, not tsx).
  const modulesDir = makeTempDir('bastion-build-modules-');
  const s = await npmStart({ NODE_OPTIONS: `--import ${path.join(PRODUCT_ROOT, 'test', 'helpers', 'loadedModules.mjs')}`, BASTION_TEST_MODULES_DIR: modulesDir });
  try {
    assert.match(s.output(), /building the server into dist\/ … done/);
    // The built bin is the `bastion` command: it runs by its own shebang, made from bin/memoryFlags.ts.
    const shebang = readFileSync(path.join(root, 'dist', 'bin', 'bastion.js'), 'utf8').split('\n')[0];
    assert.equal(shebang, `#!/usr/bin/env -S ${[...Object.entries(MEMORY_ENV).map(([k, v]) => `${k}=${v}`), 'node', ...MEMORY_FLAGS].join(' ')}`);
    assert.match((await execa(path.join(root, 'dist', 'bin', 'bastion.js'), ['help'])).stdout, /^usage: bastion <command>/);
    // npm runs the script in sh, which execs node: the primary is npm's child.
    const [primary, ...others] = childrenOf(s.npm.pid!);
    assert.equal(others.length, 0);
    // The memory flags and environment (issue 13: idle RSS) reach the primary and every worker.
    assert.deepEqual(cmdline(primary!).slice(1), [...MEMORY_FLAGS, 'dist/bin/bastion.js', 'start']);
    const workers = childrenOf(primary!);
    assert.equal(workers.length, WORKERS);
    for (const pid of [primary!, ...workers]) {
      assert.equal(cmdline(pid).some((a) => a.includes('tsx')), false, `pid ${pid}: ${cmdline(pid).join(' ')}`);
      assert.equal(environ(pid).some((v) => v.startsWith('NODE_OPTIONS=') && v.includes('tsx')), false);
    }
    for (const pid of workers) assert.deepEqual(cmdline(pid).slice(1), [...MEMORY_FLAGS, path.join(root, 'dist', 'bin', 'bastion.js'), 'start']);
    for (const pid of [primary!, ...workers]) {
      for (const [k, v] of Object.entries(MEMORY_ENV)) assert.ok(environ(pid).includes(`${k}=${v}`), `pid ${pid} lacks ${k}=${v}`);
    }
    // What only sessions, replays or a web build use is not loaded by an idle process; the web server only by the primary.
    const primaryModules = await loadedModules(primary!, modulesDir);
    assert.ok(loads(primaryModules, 'express'), 'the hook sees what the primary loaded');
    for (const pkg of ['@xterm/headless', '@xterm/addon-serialize', 'cross-spawn']) assert.equal(loads(primaryModules, pkg), false, `the primary loaded ${pkg}`);
    for (const pid of workers) {
      const modules = await loadedModules(pid, modulesDir);
      assert.ok(loads(modules, 'ssh2'), `the hook sees what worker ${pid} loaded`);
      for (const pkg of ['@xterm/headless', '@xterm/addon-serialize', 'cross-spawn', 'express', 'ws']) assert.equal(loads(modules, pkg), false, `worker ${pid} loaded ${pkg}`);
    }
  } finally {
    await stop(s);
  }
});

test('npm start rebuilds dist/ when a source changed since the build, and only then', async () => {
  const bin = path.join(root, 'bin', 'bastion.ts');
  writeFileSync(bin, readFileSync(bin, 'utf8').replace("console.log('Bastion is running.');", "console.log('Bastion is running (rebuilt).');"));
  const rebuilt = await npmStart();
  try {
    assert.match(rebuilt.output(), /building the server into dist\/ … done/);
    assert.match(rebuilt.output(), /Bastion is running \(rebuilt\)\./);
  } finally {
    await stop(rebuilt);
  }
  const again = await npmStart();
  try {
    assert.doesNotMatch(again.output(), /building the server/);
    assert.match(again.output(), /Bastion is running \(rebuilt\)\./);
  } finally {
    await stop(again);
  }
});

test('the compiled segment builder forks the compiled builder process, not an entry that loads tsx', async () => {
  const dir = makeTempDir('bastion-build-cast-');
  writeFileSync(path.join(dir, 'a.cast'), '{"version":2,"width":80,"height":24}\n[0.1,"o","hello\\r\\n"]\n');
  const script = `
    import { readFileSync, readdirSync } from 'node:fs';
    const { SegmentBuilder } = await import(${JSON.stringify(path.join(root, 'dist', 'core', 'audit', 'segmentBuilder.js'))});
    const b = new SegmentBuilder(async () => { throw new Error('built in the parent'); });
    const index = await b.build(${JSON.stringify(path.join(dir, 'a.cast'))}, ${JSON.stringify(path.join(dir, 'a.seg'))});
    const children = readdirSync('/proc').filter((e) => /^\\d+$/.test(e)).filter((e) => {
      try { const s = readFileSync('/proc/' + e + '/stat', 'utf8'); return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === process.pid; } catch { return false; }
    });
    console.log(JSON.stringify({ segments: index.segments.length, children: children.map((c) => readFileSync('/proc/' + c + '/cmdline', 'utf8').split('\\0').filter(Boolean)) }));
    await b.close();`;
  const r = await execa(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
  const { segments, children } = JSON.parse(r.stdout) as { segments: number; children: string[][] };
  assert.equal(segments, 1);
  assert.deepEqual(children, [[process.execPath, path.join(root, 'dist', 'core', 'audit', 'segmentWorkerMain.js')]]);
});
