/**
 * SSH gateway benchmark (issue 4): Bastion against OpenSSH ProxyJump, side by side in one
 * run, against the same loopback sshd (and the direct connection as the floor).
 *
 *   - throughput with a PTY (`ssh -tt`) and without (`ssh -T`): log-like text from
 *     `yes '<line>' | head -c BENCH_BYTES`, timed from the first byte to the last
 *   - keystroke echo: 500 single keys into `cat` in a PTY (ssh2 clients), p50/p95,
 *     idle and while another session through the same hop streams bulk output
 *   - connection setup: `ssh … true` with a key, median of BENCH_SETUP_RUNS
 *   - memory: BENCH_IDLE_SESSIONS idle shells on a fresh, warmed-up gateway process (its
 *     own: bench/gatewayProcess.ts), RSS and JS heap growth per session, beside the jump
 *     host's sshd USS per session;
 *     and the gateway's growth under one reader that stalls
 *   - a large upload with scp (SFTP mode) through ProxyJump and through the gateway, and
 *     the gateway's peak RSS growth meanwhile (issue 6: 1 GiB with flat memory)
 *   - the bulk-load echo again with the product's gateway worker processes (one per core),
 *     unless BASTION_GATEWAY_WORKERS is set, in which case every Bastion figure is taken in
 *     that mode
 *   - keystroke echo beside 20 bulk shells, gateway against direct in the same run, in one
 *     process and with workers, and the idle RSS of `npm start` (bench/interactive.ts)
 *
 * Before each phase the driver waits until the gateway is idle, so that one phase's
 * after-work does not land in the next one's figures (it says how long it waited).
 * Recording is on (the gateway records every shell and exec). Everything is on 127.0.0.1,
 * every loop is bounded. Environment: BENCH_BYTES (default 64 MiB; the issue's figure is
 * 256 MiB), BENCH_RUNS (2, best kept), BENCH_SETUP_RUNS (20), BENCH_IDLE_SESSIONS (200),
 * BENCH_KEYS (500), BENCH_OPEN_CONCURRENCY (how many idle shells are opened at once; 1),
 * BENCH_UPLOAD_BYTES (the scp upload through ProxyJump and the gateway; 1 GiB, 0 skips it),
 * BENCH_GATEWAY_NODE_FLAGS (extra Node/V8 flags for the gateway's processes, workers included,
 * to try one before it becomes a product flag), BENCH_GATEWAY_CPU_PROFILE (a directory: each
 * gateway process writes its --cpu-prof there), BENCH_GATEWAY_LOOP_STATS=1 (the in-process
 * gateway prints its event loop's delays and utilization and V8's collections when it stops:
 * bench/loopStats.ts).
 * Run: npx tsx bench/gateway.ts   (or npm run bench)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig } from 'ssh2';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { loadConfig } from '../core/config.ts';
import { createServices } from '../core/services.ts';
import { startSshd, sshdUnavailable, type Sshd } from '../test/helpers/sshd.ts';
import { cleanup, makeTempDir } from '../test/helpers/tmp.ts';
import { interactiveRows, measureInteractive } from './interactive.ts';
import { MEMORY_FLAGS } from '../bin/memoryFlags.ts';

type Client = InstanceType<typeof ssh2.Client>;

const MiB = 1024 * 1024;
export const LOG_LINE = '2024-05-01T12:00:00.000Z INFO  api[4242]: GET /api/v1/assets?limit=50 200 12ms user=alice';
export const QUIET = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes'];
export const ALICE_PASSWORD = 'Bench-operator-pw-2024';

interface Settings {
  bytes: number;
  runs: number;
  setupRuns: number;
  idleSessions: number;
  keys: number;
  concurrency: number;
  uploadBytes: number;
}

/** An integer setting from the environment: `dflt` when unset, an error when not an integer ≥ `min`. */
export function intSetting(env: NodeJS.ProcessEnv, name: string, dflt: number, min: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}`);
  return n;
}

function settings(env: NodeJS.ProcessEnv): Settings {
  const int = (name: string, dflt: number, min: number): number => intSetting(env, name, dflt, min);
  return {
    bytes: int('BENCH_BYTES', 64 * MiB, 1024),
    runs: int('BENCH_RUNS', 2, 1),
    setupRuns: int('BENCH_SETUP_RUNS', 20, 1),
    idleSessions: int('BENCH_IDLE_SESSIONS', 200, 1),
    keys: int('BENCH_KEYS', 500, 10),
    concurrency: int('BENCH_OPEN_CONCURRENCY', 1, 1),
    uploadBytes: int('BENCH_UPLOAD_BYTES', 1024 * MiB, 0),
  };
}

/** One way to reach the backend: the OpenSSH arguments and an ssh2 connection. */
export interface Route {
  name: string;
  sshArgs: string[];
  /** `scp` arguments (SFTP mode, OpenSSH's default) that upload `file` to `dest` on the backend. */
  scpArgs(file: string, dest: string): string[];
  connect(): Promise<{ client: Client; close(): void }>;
}

function ssh2Connect(config: ConnectConfig): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    client.connect({ readyTimeout: 30_000, ...config });
  });
}

export function directRoute(sshd: Sshd): Route {
  return {
    name: 'direct',
    sshArgs: [...QUIET, '-i', sshd.privateKeyPath, '-p', String(sshd.port), `${sshd.username}@127.0.0.1`],
    scpArgs: (file, dest) => [...QUIET, '-i', sshd.privateKeyPath, '-P', String(sshd.port), file, `${sshd.username}@127.0.0.1:${dest}`],
    async connect() {
      const client = await ssh2Connect({ host: '127.0.0.1', port: sshd.port, username: sshd.username, privateKey: sshd.privateKey });
      return { client, close: () => client.end() };
    },
  };
}

export function proxyJumpRoute(sshd: Sshd, jump: Sshd): Route {
  const proxy = ['ssh', ...QUIET, '-i', sshd.privateKeyPath, '-p', String(jump.port), '-W', '%h:%p', `${jump.username}@127.0.0.1`].join(' ');
  return {
    name: 'ProxyJump',
    sshArgs: [...QUIET, '-o', `ProxyCommand=${proxy}`, '-i', sshd.privateKeyPath, '-p', String(sshd.port), `${sshd.username}@127.0.0.1`],
    scpArgs: (file, dest) => [...QUIET, '-o', `ProxyCommand=${proxy}`, '-i', sshd.privateKeyPath, '-P', String(sshd.port), file, `${sshd.username}@127.0.0.1:${dest}`],
    async connect() {
      const hop = await ssh2Connect({ host: '127.0.0.1', port: jump.port, username: jump.username, privateKey: sshd.privateKey });
      const sock = await new Promise<ClientChannel>((resolve, reject) => {
        hop.forwardOut('127.0.0.1', 0, '127.0.0.1', sshd.port, (err, ch) => (err ? reject(err) : resolve(ch)));
      });
      const client = await ssh2Connect({ sock, username: sshd.username, privateKey: sshd.privateKey });
      return { client, close: () => { client.end(); hop.end(); } };
    },
  };
}

export function bastionRoute(port: number, keyPath: string, key: string): Route {
  return {
    name: 'Bastion',
    sshArgs: [...QUIET, '-i', keyPath, '-p', String(port), '-l', 'alice@web01', '127.0.0.1'],
    scpArgs: (file, dest) => [...QUIET, '-i', keyPath, '-P', String(port), file, `alice@web01@127.0.0.1:${dest}`],
    async connect() {
      const client = await ssh2Connect({ host: '127.0.0.1', port, username: 'alice@web01', privateKey: key });
      return { client, close: () => client.end() };
    },
  };
}

export const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** MB/s from the first byte to the last of `bytes` of log text, with or without a PTY. */
async function throughput(route: Route, pty: boolean, bytes: number): Promise<number> {
  const remote = `yes '${LOG_LINE}' | head -c ${bytes}`;
  const ssh = ['ssh', pty ? '-tt' : '-T', ...route.sshArgs, remote].map(shq).join(' ');
  // dd takes exactly the first byte; the clock starts there, wc counts the rest.
  const script = `${ssh} < /dev/null | { dd bs=1 count=1 of=/dev/null status=none; date +%s%N; wc -c; date +%s%N; }`;
  const r = await execa('sh', ['-c', script], { timeout: 900_000 });
  const [t1, count, t2] = r.stdout.trim().split(/\s+/).map(Number) as [number, number, number];
  const received = count + 1;
  if (received < bytes) throw new Error(`${route.name}: received ${received} of ${bytes} bytes ${r.stderr}`);
  return received / ((t2 - t1) / 1e9) / 1e6;
}

async function best(runs: number, fn: () => Promise<number>): Promise<number> {
  let top = 0;
  for (let i = 0; i < runs; i++) top = Math.max(top, await fn());
  return top;
}

/** A `cat` on a PTY, answering one key at a time. */
export interface EchoProbe {
  /** Sends one key (within one line, so every echo is exactly that key): the round trip in ms. */
  roundTrip(): Promise<number>;
  close(): void;
}

export async function echoProbe(route: Route): Promise<EchoProbe> {
  const { client, close } = await route.connect();
  try {
    const ch = await new Promise<ClientChannel>((resolve, reject) => {
      client.exec('cat', { pty: { term: 'xterm', cols: 80, rows: 24, width: 0, height: 0, modes: {} } }, (err, c) => (err ? reject(err) : resolve(c)));
    });
    let waiter: (() => void) | null = null;
    ch.on('data', () => {
      const w = waiter;
      waiter = null;
      w?.();
    });
    const roundTrip = (key = 'x'): Promise<number> => new Promise((resolve, reject) => {
      const t0 = performance.now();
      const timer = setTimeout(() => reject(new Error(`${route.name}: no echo within 10 s`)), 10_000);
      waiter = () => {
        clearTimeout(timer);
        resolve(performance.now() - t0);
      };
      ch.write(key);
    });
    for (let i = 0; i < 20; i++) await roundTrip('w');
    return { roundTrip: () => roundTrip(), close: () => { ch.close(); close(); } };
  } catch (err) {
    close();
    throw err;
  }
}

/** Keystroke → echo round trips into `cat` on a PTY, in ms. */
async function echoLatency(route: Route, keys: number): Promise<number[]> {
  const probe = await echoProbe(route);
  try {
    const samples: number[] = [];
    for (let i = 0; i < keys; i++) samples.push(await probe.roundTrip());
    return samples;
  } finally {
    probe.close();
  }
}

/** Echo latency while another session through the same hop streams bulk output. */
async function echoUnderLoad(route: Route, keys: number): Promise<number[]> {
  const bulk = execa('ssh', ['-T', ...route.sshArgs, `timeout 120 yes '${LOG_LINE}'`], { stdin: 'ignore', stdout: 'ignore', reject: false });
  try {
    await new Promise((r) => setTimeout(r, 1500));
    if (bulk.exitCode !== null) throw new Error(`${route.name}: the bulk session ended early`);
    return await echoLatency(route, keys);
  } finally {
    bulk.kill('SIGTERM');
    await bulk;
  }
}

async function setupTimes(routes: Route[], runs: number): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>(routes.map((r) => [r.name, []]));
  for (let i = 0; i < runs; i++) {
    for (const route of routes) {
      const t0 = performance.now();
      const r = await execa('ssh', [...route.sshArgs, 'true'], { stdin: 'ignore', reject: false, timeout: 60_000 });
      if (r.exitCode !== 0) throw new Error(`${route.name}: ssh … true failed: ${r.stderr}`);
      out.get(route.name)!.push(performance.now() - t0);
    }
  }
  return out;
}

interface IdleShell {
  close(): void;
}

async function openIdleShell(route: Route): Promise<IdleShell> {
  const { client, close } = await route.connect();
  const ch = await new Promise<ClientChannel>((resolve, reject) => {
    client.shell({ term: 'xterm', cols: 80, rows: 24 }, (err, c) => (err ? reject(err) : resolve(c)));
  });
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${route.name}: no prompt within 30 s`)), 30_000);
    ch.on('data', (d: Buffer) => {
      if (seen.length < 4096) seen += d.toString('latin1');
      if (/\$ (\x1b\[K)?$/.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { close };
}

/** Opens `n` shells, `concurrency` at a time. */
async function openIdleShells(route: Route, n: number, concurrency: number): Promise<IdleShell[]> {
  const shells: IdleShell[] = [];
  for (let i = 0; i < n; i += concurrency) {
    const batch = await Promise.all(Array.from({ length: Math.min(concurrency, n - i) }, () => openIdleShell(route)));
    shells.push(...batch);
  }
  return shells;
}

/** The processes under `root` (itself included), from /proc. */
export function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, ppid] of parents) if (ppid === out[i]) out.push(pid);
  return out;
}

export function kib(pid: number, file: 'status' | 'smaps_rollup', fields: string[]): number {
  try {
    const text = readFileSync(`/proc/${pid}/${file}`, 'utf8');
    let total = 0;
    for (const f of fields) total += Number(new RegExp(`^${f}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    return total;
  } catch {
    return 0;
  }
}

/** The segment builder (core/audit/segmentBuilder.ts) comes and goes with finished recordings; it holds no session. */
function isSegmentBuilder(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('segmentWorker');
  } catch {
    return false;
  }
}

const treeRss = (root: number): number => processTree(root).filter((pid) => !isSegmentBuilder(pid)).reduce((sum, pid) => sum + kib(pid, 'status', ['VmRSS']), 0);
const treeUss = (root: number, exclude: number): number => processTree(root).filter((p) => p !== exclude).reduce((sum, pid) => sum + kib(pid, 'smaps_rollup', ['Private_Clean', 'Private_Dirty']), 0);

export interface GatewayProcess {
  port: number;
  pid: number;
  memory(): Promise<NodeJS.MemoryUsage>;
  stop(): Promise<void>;
}

export async function startGatewayProcess(dataDir: string, env: NodeJS.ProcessEnv, workers?: number): Promise<GatewayProcess> {
  const child: ChildProcess = fork(new URL('./gatewayProcess.ts', import.meta.url), [], {
    execArgv: ['--import', 'tsx', '--expose-gc', ...MEMORY_FLAGS, ...(env.BENCH_GATEWAY_NODE_FLAGS ? env.BENCH_GATEWAY_NODE_FLAGS.split(' ').filter(Boolean) : []), ...(env.BENCH_GATEWAY_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${env.BENCH_GATEWAY_CPU_PROFILE}`] : [])],
    env: {
      // One bench user holds the 200 idle shells (and their connections): the per-user limits
      // (64 sessions, 100 connections by default) are not what is measured; 0 lifts them.
      BASTION_MAX_SESSIONS_PER_USER: '0',
      BASTION_MAX_CONNECTIONS_PER_USER: '0',
      ...env, BASTION_DATA_DIR: dataDir, BASTION_LOG_LEVEL: 'warn', BASTION_BIND: '127.0.0.1', BASTION_SSH_PORT: '0', BASTION_ADMIN_PASSWORD: 'Bench-admin-pw-2024', ...(workers === undefined ? {} : { BASTION_GATEWAY_WORKERS: String(workers) }),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`gateway process exited (${code}) before listening`)));
    child.on('message', (m: { port?: number }) => {
      if (typeof m.port === 'number') resolve(m.port);
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    port,
    pid: child.pid!,
    memory: () => new Promise((resolve) => {
      const onMessage = (m: { memory?: NodeJS.MemoryUsage }) => {
        if (!m.memory) return;
        child.off('message', onMessage);
        resolve(m.memory);
      };
      child.on('message', onMessage);
      child.send('memory');
    }),
    async stop() {
      child.send('stop');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A database with alice (an operator key), web01 (the loopback sshd) as system user `bench`, and a permission (`actions`: connect and upload unless told). */
export async function seed(dataDir: string, sshd: Sshd, actions: Array<'connect' | 'upload' | 'download'> = ['connect', 'upload']): Promise<{ keyPath: string; key: string }> {
  const keyPath = join(dataDir, 'alice_ed25519');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@bench', '-f', keyPath]);
  const services = await createServices(loadConfig({ BASTION_DATA_DIR: dataDir, BASTION_LOG_LEVEL: 'silent', BASTION_ADMIN_PASSWORD: 'Bench-admin-pw-2024' }));
  try {
    const alice = await services.users.create(SYSTEM_ACTOR, { username: 'alice', password: ALICE_PASSWORD, role: 'user', mustChangePassword: false });
    await services.userKeys.add(SYSTEM_ACTOR, alice.id, { publicKey: readFileSync(`${keyPath}.pub`, 'utf8'), name: 'bench' });
    const asset = await services.assets.create(SYSTEM_ACTOR, { name: 'web01', address: sshd.host, port: sshd.port });
    const su = await services.systemUsers.create(SYSTEM_ACTOR, { name: 'bench', username: sshd.username, privateKey: sshd.privateKey });
    await services.permissions.create(SYSTEM_ACTOR, { name: 'bench', users: [alice.id], assets: [asset.id], systemUsers: [su.id], actions });
  } finally {
    await services.close();
  }
  return { keyPath, key: readFileSync(keyPath, 'utf8') };
}

/** CPU ticks (1/100 s) the process tree has used. */
function treeTicks(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks;
}

/**
 * Waits until the gateway is idle (under 5 % of a core for a second), so one phase's
 * after-work (recordings being cut into playback segments, say) does not land in the
 * next phase's figures. Returns how long it took.
 */
export async function settle(pid: number, maxMs = 120_000): Promise<number> {
  const t0 = Date.now();
  let last = treeTicks(pid);
  while (Date.now() - t0 < maxMs) {
    await new Promise((res) => setTimeout(res, 1000));
    const now = treeTicks(pid);
    if (now - last <= 5) break;
    last = now;
  }
  return Date.now() - t0;
}

/**
 * Uploads `file` with scp (SFTP mode) through the route: MB/s, and the peak growth of the
 * `watch` process tree's RSS meanwhile (sampled every 100 ms), in MiB.
 */
async function uploadThrough(route: Route, file: string, bytes: number, dest: string, watch?: number): Promise<{ mbps: number; peakMiB: number }> {
  const base = watch === undefined ? 0 : treeRss(watch);
  let peak = base;
  const sampler = watch === undefined ? null : setInterval(() => { peak = Math.max(peak, treeRss(watch)); }, 100);
  const t0 = performance.now();
  try {
    await execa('scp', ['-q', ...route.scpArgs(file, dest)], { timeout: 600_000 });
  } finally {
    if (sampler) clearInterval(sampler);
  }
  const secs = (performance.now() - t0) / 1000;
  return { mbps: bytes / 1e6 / secs, peakMiB: (peak - base) / 1024 };
}

export function pct(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

export interface GatewayBenchResult {
  [metric: string]: number;
}

export async function runGatewayBench(env: NodeJS.ProcessEnv = process.env): Promise<GatewayBenchResult> {
  const unavailable = sshdUnavailable();
  if (unavailable) throw new Error(`gateway bench skipped: ${unavailable}`);
  const s = settings(env);
  const sshd = await startSshd();
  const jump = await startSshd();
  jump.authorizeKey(sshd.publicKey);
  const dataDir = makeTempDir('bastion-bench-');
  const { keyPath, key } = await seed(dataDir, sshd);
  // One gateway process unless BASTION_GATEWAY_WORKERS says otherwise (its default, auto,
  // would silently mean workers on a multi-core host); the workers row below is the other mode.
  const mode = env.BASTION_GATEWAY_WORKERS === undefined ? 0 : undefined;
  const gw = await startGatewayProcess(dataDir, env, mode);
  const direct = directRoute(sshd);
  const proxyJump = proxyJumpRoute(sshd, jump);
  const bastion = bastionRoute(gw.port, keyPath, key);
  const routes = [direct, proxyJump, bastion];
  const r: GatewayBenchResult = {};
  const log = (line: string): void => console.log(`  … ${line}`);

  try {
    console.log(`\nSSH gateway benchmark: Bastion vs OpenSSH ProxyJump (${(s.bytes / MiB).toFixed(0)} MiB transfers, best of ${s.runs}; ${s.keys} keys; ${s.idleSessions} idle shells)`);
    // Each route's runs start on a quiet host: the segment builds of Bastion's previous
    // recordings (background work, niced) finish first, whichever route is measured next.
    for (const route of routes) {
      await settle(gw.pid);
      r[`ptyMBps.${route.name}`] = await best(s.runs, () => throughput(route, true, s.bytes));
      log(`PTY throughput ${route.name}: ${r[`ptyMBps.${route.name}`]!.toFixed(1)} MB/s`);
    }
    for (const route of routes) {
      await settle(gw.pid);
      r[`execMBps.${route.name}`] = await best(s.runs, () => throughput(route, false, s.bytes));
      log(`exec throughput ${route.name}: ${r[`execMBps.${route.name}`]!.toFixed(1)} MB/s`);
    }
    const busy = await settle(gw.pid);
    if (busy > 1500) log(`the gateway stayed busy ${(busy / 1000).toFixed(0)} s after the transfers ended (waited)`);
    for (const route of routes) {
      const samples = await echoLatency(route, s.keys);
      r[`echoP50.${route.name}`] = pct(samples, 50);
      r[`echoP95.${route.name}`] = pct(samples, 95);
      log(`echo ${route.name}: p50 ${pct(samples, 50).toFixed(2)} ms, p95 ${pct(samples, 95).toFixed(2)} ms`);
    }
    for (const route of [proxyJump, bastion]) {
      await settle(gw.pid);
      const samples = await echoUnderLoad(route, s.keys);
      r[`loadedEchoP50.${route.name}`] = pct(samples, 50);
      r[`loadedEchoP95.${route.name}`] = pct(samples, 95);
      log(`echo under bulk load ${route.name}: p50 ${pct(samples, 50).toFixed(2)} ms, p95 ${pct(samples, 95).toFixed(2)} ms`);
    }
    await settle(gw.pid);
    const setups = await setupTimes(routes, s.setupRuns);
    for (const route of routes) r[`setupMs.${route.name}`] = pct(setups.get(route.name)!, 50);
    log(`setup medians: ${routes.map((x) => `${x.name} ${r[`setupMs.${x.name}`]!.toFixed(0)} ms`).join(', ')}`);

    // Memory, on a fresh gateway process (the transfers above leave freed memory in the
    // old one's RSS): warm it up, then open the idle shells.
    const fresh = await startGatewayProcess(dataDir, env, mode);
    try {
      const route = bastionRoute(fresh.port, keyPath, key);
      // Warm it up (code paths, pools), let it settle and give back what it freed, then
      // open them all.
      for (const shell of await openIdleShells(route, 10, s.concurrency)) shell.close();
      // A fresh Node process keeps shedding RSS for some 20 s (start-up garbage, V8's
      // memory reducer, in steps seconds apart): GC until RSS holds still for 10 s.
      const quiet = async (): Promise<{ heap: NodeJS.MemoryUsage; rss: number }> => {
        await settle(fresh.pid);
        let rss = treeRss(fresh.pid);
        let heap = await fresh.memory();
        for (let still = 0, i = 0; still < 5 && i < 40; i++) {
          await new Promise((res) => setTimeout(res, 2000));
          heap = await fresh.memory();
          const now = treeRss(fresh.pid);
          still = Math.abs(now - rss) < 512 ? still + 1 : 0;
          rss = now;
        }
        return { heap, rss };
      };
      const before = await quiet();
      const shells = await openIdleShells(route, s.idleSessions, s.concurrency);
      const after = await quiet();
      const [heapBefore, heapAfter, rssBefore, rssAfter] = [before.heap, after.heap, before.rss, after.rss];
      const added = s.idleSessions;
      r['idleKiB.Bastion'] = (rssAfter - rssBefore) / added;
      r['idleHeapKiB.Bastion'] = (heapAfter.heapUsed + heapAfter.external - heapBefore.heapUsed - heapBefore.external) / 1024 / added;
      log(`idle shells through Bastion: ${r['idleKiB.Bastion']!.toFixed(0)} KiB RSS per session (JS heap + external ${r['idleHeapKiB.Bastion']!.toFixed(0)} KiB)`);
      for (const shell of shells) shell.close();
    } finally {
      await fresh.stop();
    }

    const jumpPid = Number(existsSync(join(jump.dir, 'sshd.pid')) ? readFileSync(join(jump.dir, 'sshd.pid'), 'utf8').trim() : NaN);
    if (Number.isInteger(jumpPid)) {
      const ussBefore = treeUss(jumpPid, jumpPid);
      const jumpShells = await openIdleShells(proxyJump, s.idleSessions, s.concurrency);
      await new Promise((res) => setTimeout(res, 2000));
      r['idleKiB.ProxyJump'] = (treeUss(jumpPid, jumpPid) - ussBefore) / s.idleSessions;
      log(`idle shells through the jump host: ${r['idleKiB.ProxyJump']!.toFixed(0)} KiB sshd USS per session`);
      for (const shell of jumpShells) shell.close();
    }

    // One reader that stops reading: the gateway must not buffer without bound.
    await settle(gw.pid);
    const stallHeapBefore = await gw.memory();
    const stallBefore = treeRss(gw.pid);
    const staller = await bastion.connect();
    const stalled = await new Promise<ClientChannel>((resolve, reject) => {
      staller.client.exec(`timeout 60 yes '${LOG_LINE}'`, (err, c) => (err ? reject(err) : resolve(c)));
    });
    stalled.pause();
    // What the stall costs once (the windows and buffers filling), then whether it keeps growing.
    await new Promise((res) => setTimeout(res, 3000));
    const stallHeapSettled = await gw.memory();
    const stallSettled = treeRss(gw.pid);
    await new Promise((res) => setTimeout(res, 8000));
    const stallHeapAfter = await gw.memory();
    const stallAfter = treeRss(gw.pid);
    const heap = (m: NodeJS.MemoryUsage): number => (m.heapUsed + m.external) / 1024;
    r['stalledReaderOnceKiB.Bastion'] = heap(stallHeapSettled) - heap(stallHeapBefore);
    r['stalledReaderGrowthKiB.Bastion'] = heap(stallHeapAfter) - heap(stallHeapSettled);
    log(`one stalled reader: JS heap + external ${r['stalledReaderOnceKiB.Bastion']!.toFixed(0)} KiB in the first 3 s, then ${r['stalledReaderGrowthKiB.Bastion']!.toFixed(0)} KiB over 8 s (RSS ${stallSettled - stallBefore} KiB, then ${stallAfter - stallSettled} KiB)`);
    staller.close();

    // A large upload (issue 6: 1 GiB with flat gateway memory), SFTP through the gateway vs ProxyJump.
    if (s.uploadBytes > 0) {
      r.uploadMiB = s.uploadBytes / MiB;
      const file = join(dataDir, 'upload.bin');
      await execa('sh', ['-c', `head -c ${s.uploadBytes} /dev/urandom > ${shq(file)}`]);
      for (const route of [proxyJump, bastion]) {
        await settle(gw.pid);
        const dest = `/tmp/bastion-bench-upload-${process.pid}-${route.name}.bin`;
        try {
          const u = await uploadThrough(route, file, s.uploadBytes, dest, route === bastion ? gw.pid : undefined);
          r[`uploadMBps.${route.name}`] = u.mbps;
          if (route === bastion) r['uploadPeakRssMiB.Bastion'] = u.peakMiB;
          log(`${(s.uploadBytes / MiB).toFixed(0)} MiB scp upload ${route.name}: ${u.mbps.toFixed(1)} MB/s${route === bastion ? `, gateway RSS peak +${u.peakMiB.toFixed(1)} MiB` : ''}`);
        } finally {
          await rm(dest, { force: true });
        }
      }
      await rm(file, { force: true });
    }

    // The same bulk-load echo with the product's worker processes (node:cluster), one per core.
    const cores = availableParallelism();
    if (cores > 1 && env.BASTION_GATEWAY_WORKERS === undefined) {
      const workers = await startGatewayProcess(dataDir, env, cores);
      try {
        const samples = await echoUnderLoad(bastionRoute(workers.port, keyPath, key), s.keys);
        r['loadedEchoP50.BastionWorkers'] = pct(samples, 50);
        r['loadedEchoP95.BastionWorkers'] = pct(samples, 95);
        r.workers = cores;
        log(`echo under bulk load, Bastion with ${cores} worker processes: p50 ${pct(samples, 50).toFixed(2)} ms, p95 ${pct(samples, 95).toFixed(2)} ms`);
      } finally {
        await workers.stop();
      }
    }
    // Issue 13 item 8: echo beside 20 bulk shells against direct in the same run, and the idle footprint.
    await measureInteractive(r, env);
  } finally {
    await gw.stop();
    await jump.stop();
    await sshd.stop();
    await cleanup();
  }
  printTable(r);
  return r;
}

function printTable(r: GatewayBenchResult): void {
  const f = (v: number | undefined, digits: number): string => (v === undefined || Number.isNaN(v) ? '—' : v.toFixed(digits));
  const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || !b ? '—' : `${(a / b).toFixed(2)}×`);
  const rows: Array<[string, string, string, string, string, string]> = [
    ['throughput, PTY (MB/s)', f(r['ptyMBps.direct'], 1), f(r['ptyMBps.ProxyJump'], 1), f(r['ptyMBps.Bastion'], 1), ratio(r['ptyMBps.Bastion'], r['ptyMBps.ProxyJump']), '≥ 1.0×'],
    ['throughput, exec (MB/s)', f(r['execMBps.direct'], 1), f(r['execMBps.ProxyJump'], 1), f(r['execMBps.Bastion'], 1), ratio(r['execMBps.Bastion'], r['execMBps.ProxyJump']), '≥ 0.9×'],
    ['echo p50 (ms)', f(r['echoP50.direct'], 2), f(r['echoP50.ProxyJump'], 2), f(r['echoP50.Bastion'], 2), `+${f((r['echoP50.Bastion'] ?? NaN) - (r['echoP50.ProxyJump'] ?? NaN), 2)} ms`, '≤ +0.3 ms'],
    ['echo p95 (ms)', f(r['echoP95.direct'], 2), f(r['echoP95.ProxyJump'], 2), f(r['echoP95.Bastion'], 2), ratio(r['echoP95.Bastion'], r['echoP95.ProxyJump']), ''],
    ['echo p95 under bulk load (ms)', '', f(r['loadedEchoP95.ProxyJump'], 2), f(r['loadedEchoP95.Bastion'], 2), ratio(r['loadedEchoP95.Bastion'], r['loadedEchoP95.ProxyJump']), '≤ 5 ms'],
    [`  … with ${r.workers ?? '—'} gateway workers (ms)`, '', '', f(r['loadedEchoP95.BastionWorkers'], 2), ratio(r['loadedEchoP95.BastionWorkers'], r['loadedEchoP95.ProxyJump']), '≤ 5 ms'],
    ['connection setup, median (ms)', f(r['setupMs.direct'], 0), f(r['setupMs.ProxyJump'], 0), f(r['setupMs.Bastion'], 0), ratio(r['setupMs.Bastion'], r['setupMs.ProxyJump']), '≤ 0.3×'],
    ['idle session (KiB: jump USS / gw RSS)', '', f(r['idleKiB.ProxyJump'], 0), f(r['idleKiB.Bastion'], 0), ratio(r['idleKiB.Bastion'], r['idleKiB.ProxyJump']), '≤ 192 KiB'],
    ['  … gateway JS heap + external (KiB)', '', '', f(r['idleHeapKiB.Bastion'], 0), '', ''],
    [`scp upload of ${r.uploadMiB ?? '—'} MiB (MB/s)`, '', f(r['uploadMBps.ProxyJump'], 1), f(r['uploadMBps.Bastion'], 1), ratio(r['uploadMBps.Bastion'], r['uploadMBps.ProxyJump']), ''],
    ['  … gateway RSS peak growth (MiB)', '', '', f(r['uploadPeakRssMiB.Bastion'], 1), '', 'flat'],
    ['stalled reader: once / next 8 s (KiB heap)', '', '', `${f(r['stalledReaderOnceKiB.Bastion'], 0)} / ${f(r['stalledReaderGrowthKiB.Bastion'], 0)}`, '', 'bounded'],
    ...interactiveRows(r),
  ];
  printRows(['metric', 'direct', 'ProxyJump', 'Bastion', 'Bastion/PJ', 'target'], rows);
}

/** A table: the first column left-aligned, the others right-aligned. */
export function printRows(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log('');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runGatewayBench().then(() => process.exit(0), (e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
