/**
 * Interactive traffic first (issue 13 item 8), part of `npm run bench -- gateway` (alone:
 * `npm run bench -- interactive`):
 *
 *   - keystroke echo while BENCH_BULK_SESSIONS (20) shells stream bulk output through the
 *     gateway: one key into `cat` on a PTY through the gateway, then one straight to sshd, in
 *     turn, so both see the same loaded host at the same moments; p50/p95 of each and the
 *     ratio (target: gateway p95 ≤ 2× direct p95), in one gateway process and with the
 *     product's worker processes (one per core, as `npm start` runs them); and, in the same
 *     turn, one through OpenSSH's own relay (ProxyJump via a second sshd; the bulk still goes
 *     through the gateway), for reference: what any extra hop costs a keystroke on this host
 *     (BENCH_INTERACTIVE_PROXYJUMP=0 leaves it out)
 *     — beside them, the CPU the gateway's processes got meanwhile (in cores), how often
 *     their threads were preempted, and how long their event loops were runnable but waited for
 *     a CPU (the run queue, /proc/…/schedstat): on a host whose cores are all busy, a gateway that relays
 *     twenty sessions is the one process that is never idle, and its keystrokes wait whenever
 *     the scheduler has put it aside (issue 13 item 8: ~0.5 core and ~10 000 preemptions/s in
 *     one process against sshd's woken-on-demand processes on the direct route)
 *   - the idle RSS of `npm start` with its defaults, summed over all of Bastion's processes
 *     (primary, gateway workers, helpers such as the segment builder; target ≤ 200 MB), and the
 *     PSS sum beside it (pages the processes share, such as the node binary, counted once)
 *
 * BENCH_CLIENT_SESSIONS=own runs each bulk shell's `ssh | wc` in a session of its own (setsid).
 * Where the kernel groups processes by session for CPU shares (autogroup, on when the host's
 * processes share the root cgroup, as here), the 20 bulk clients otherwise share one group with
 * this process — the keyboards of both routes — and with the gateway it forks, and that group
 * competes as one with each sshd session's own group. On a bastion the operators' clients run
 * elsewhere. With their own sessions the gateway gets less CPU (its group is no longer fed by
 * the clients' share) and both routes' keyboards wait less: a way to see how much of a figure
 * is the load generator's own scheduling.
 *
 * Bounded: each loaded phase streams for BENCH_BULK_SECONDS (30) and measures at most
 * BENCH_LOADED_KEYS (1000) keys per route inside that window, typed at a typist's pace. BENCH_TOPOLOGIES=inProcess or
 * =workers takes one of the two; BENCH_SKIP_IDLE_MEMORY=1 leaves out the idle footprint;
 * BENCH_GATEWAY_LOOP_STATS=1 adds the in-process gateway's event loop delays and collections.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { startSshd, sshdUnavailable } from '../test/helpers/sshd.ts';
import { cleanup, makeTempDir } from '../test/helpers/tmp.ts';
import { freePort } from '../test/helpers/ports.ts';
import { productArgs } from '../test/helpers/productCommand.ts';
import { autoWorkers } from '../core/config.ts';
import {
  LOG_LINE, bastionRoute, directRoute, echoProbe, proxyJumpRoute, intSetting, kib, pct, printRows, processTree, seed, settle, shq, startGatewayProcess,
  type GatewayBenchResult, type Route,
} from './gateway.ts';

const MB = 1e6;

interface InteractiveSettings {
  sessions: number;
  keys: number;
  bulkSeconds: number;
  /** Each bulk client in a session of its own (BENCH_CLIENT_SESSIONS=own). */
  clientSessions: boolean;
}

function settings(env: NodeJS.ProcessEnv): InteractiveSettings {
  return {
    sessions: intSetting(env, 'BENCH_BULK_SESSIONS', 20, 1),
    keys: intSetting(env, 'BENCH_LOADED_KEYS', 1000, 10),
    bulkSeconds: intSetting(env, 'BENCH_BULK_SECONDS', 30, 10),
    clientSessions: env.BENCH_CLIENT_SESSIONS === 'own',
  };
}

/** `n` OpenSSH shells with a PTY streaming log lines through `route` for `seconds`; resolves with the bytes they received. */
function bulkShells(route: Route, n: number, seconds: number, ownSessions: boolean): { started: Promise<void>; done: Promise<number> } {
  const runs: Array<Promise<number>> = [];
  const started = (async () => {
    // A few at a time: the gateway's start-up limits count connections per source.
    for (let i = 0; i < n; i++) {
      const ssh = ['ssh', '-tt', ...route.sshArgs, `timeout ${seconds} yes '${LOG_LINE}'`].map(shq).join(' ');
      runs.push(execa('sh', ['-c', `${ssh} < /dev/null | wc -c`], { timeout: (seconds + 60) * 1000, reject: false, detached: ownSessions }).then((r) => Number(r.stdout.trim()) || 0));
      if (i % 5 === 4) await new Promise((res) => setTimeout(res, 300));
    }
  })();
  return { started, done: started.then(() => Promise.all(runs)).then((counts) => counts.reduce((a, b) => a + b, 0)) };
}

export interface LoadedEcho {
  gateway: number[];
  direct: number[];
  /** Through OpenSSH's own relay (ProxyJump via a second sshd), for reference: the cost of any extra hop on this host. */
  proxyJump: number[];
  bulkMBps: number;
  /** The gateway's processes while the keys were sampled: how much CPU they got and how often they were preempted. */
  gatewayCpu?: GatewayCpu;
}

/** CPU time and context switches of a process tree's threads, from /proc. */
interface CpuCounters {
  at: number;
  ticks: number;
  preempted: number;
  yielded: number;
  /** The processes' main threads (their event loops): nanoseconds on a CPU, and runnable but waiting for one. */
  mainRanNs: number;
  mainWaitedNs: number;
}

export interface GatewayCpu {
  /** CPU the gateway's processes used, in cores. */
  cores: number;
  /** Times per second one of their threads was preempted (nonvoluntary context switches). */
  preemptedPerSecond: number;
  /** Times per second one of their threads waited by itself (voluntary: I/O, locks, idle). */
  yieldedPerSecond: number;
  /**
   * Milliseconds per second their main threads (the event loops that relay every keystroke) ran,
   * and spent runnable but waiting for a CPU (the scheduler's run queue, /proc/…/schedstat): a
   * keystroke that arrives while its loop waits there waits too.
   */
  mainRanMsPerSecond: number;
  mainWaitedMsPerSecond: number;
}

function cpuCounters(root: number): CpuCounters {
  const c: CpuCounters = { at: performance.now(), ticks: 0, preempted: 0, yielded: 0, mainRanNs: 0, mainWaitedNs: 0 };
  for (const pid of processTree(root)) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // gone meanwhile
    }
    for (const tid of tids) {
      try {
        const stat = readFile(`/proc/${pid}/task/${tid}/stat`);
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        c.ticks += Number(f[11]) + Number(f[12]);
        const status = readFile(`/proc/${pid}/task/${tid}/status`);
        c.yielded += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
        c.preempted += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
        if (tid === String(pid)) {
          const [ran, waited] = readFile(`/proc/${pid}/task/${tid}/schedstat`).split(' ');
          c.mainRanNs += Number(ran);
          c.mainWaitedNs += Number(waited);
        }
      } catch {
        // gone meanwhile
      }
    }
  }
  return c;
}

function cpuBetween(a: CpuCounters, b: CpuCounters): GatewayCpu {
  const seconds = (b.at - a.at) / 1000;
  return {
    cores: (b.ticks - a.ticks) / 100 / seconds,
    preemptedPerSecond: (b.preempted - a.preempted) / seconds,
    yieldedPerSecond: (b.yielded - a.yielded) / seconds,
    mainRanMsPerSecond: (b.mainRanNs - a.mainRanNs) / 1e6 / seconds,
    mainWaitedMsPerSecond: (b.mainWaitedNs - a.mainWaitedNs) / 1e6 / seconds,
  };
}

/**
 * Keystroke echo through the gateway and straight to sshd, taken in turn while `sessions`
 * shells stream through the gateway.
 */
export async function echoBesideBulk(gateway: Route, direct: Route, proxyJump: Route | null, s: InteractiveSettings, gatewayPid?: number): Promise<LoadedEcho> {
  const gwProbe = await echoProbe(gateway);
  const directProbe = await echoProbe(direct);
  const jumpProbe = proxyJump ? await echoProbe(proxyJump) : null;
  const t0 = performance.now();
  const bulk = bulkShells(gateway, s.sessions, s.bulkSeconds, s.clientSessions);
  try {
    await bulk.started;
    // Every stream running at full speed before the first sample.
    await new Promise((res) => setTimeout(res, 3000));
    const deadline = t0 + (s.bulkSeconds - 2) * 1000;
    const samples: LoadedEcho = { gateway: [], direct: [], proxyJump: [], bulkMBps: 0 };
    const before = gatewayPid === undefined ? null : cpuCounters(gatewayPid);
    // At a typist's pace (a key every ~20 ms), so the samples spread over the whole window and
    // a moment of extra load on the host weighs on both routes alike.
    for (let i = 0; i < s.keys && performance.now() < deadline; i++) {
      samples.gateway.push(await gwProbe.roundTrip());
      samples.direct.push(await directProbe.roundTrip());
      if (jumpProbe) samples.proxyJump.push(await jumpProbe.roundTrip());
      await new Promise((res) => setTimeout(res, 15));
    }
    if (before && gatewayPid !== undefined) samples.gatewayCpu = cpuBetween(before, cpuCounters(gatewayPid));
    const bytes = await bulk.done;
    samples.bulkMBps = bytes / MB / ((performance.now() - t0) / 1000);
    return samples;
  } finally {
    gwProbe.close();
    directProbe.close();
    jumpProbe?.close();
    await bulk.done.catch(() => 0);
  }
}

const readFile = (p: string): string => readFileSync(p, 'utf8');

export interface IdleMemory {
  rssMiB: number;
  pssMiB: number;
  processes: Array<{ pid: number; rssMiB: number; what: string }>;
}

/**
 * `bastion start` as `npm start` runs it (its defaults: web server, gateway, workers `auto`), on
 * an empty data dir: once it says it is running and has held still, the RSS and PSS of every
 * process under it. The launcher in front (npm itself) is not Bastion's and is not counted.
 */
export async function idleStartMemory(): Promise<IdleMemory> {
  const dataDir = makeTempDir('bastion-bench-rss-');
  const [http, ssh] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, productArgs('start'), {
    env: { ...process.env, BASTION_DATA_DIR: dataDir, BASTION_HTTP_PORT: String(http), BASTION_SSH_PORT: String(ssh), BASTION_BIND: '127.0.0.1', BASTION_LOG_LEVEL: 'info', BASTION_LOG_FORMAT: 'json', BASTION_ADMIN_PASSWORD: 'Bench-admin-pw-2024' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`bastion start did not say it runs within 180 s: ${out}`)), 180_000);
      child.once('exit', (code) => reject(new Error(`bastion start exited (${code}): ${out}`)));
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        // JSON logs, as a service manager or container runs it: the welcome is a JSON line.
        if (out.includes('"msg":"bastion is running"')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await settle(child.pid!);
    // RSS holds still for 6 s (a fresh Node process sheds start-up garbage for a while).
    const sum = (field: 'VmRSS' | 'Pss'): number => processTree(child.pid!).reduce((t, pid) => t + kib(pid, field === 'VmRSS' ? 'status' : 'smaps_rollup', [field]), 0);
    let rss = sum('VmRSS');
    for (let still = 0, i = 0; still < 3 && i < 30; i++) {
      await new Promise((res) => setTimeout(res, 2000));
      const now = sum('VmRSS');
      still = Math.abs(now - rss) < 1024 ? still + 1 : 0;
      rss = now;
    }
    const processes = processTree(child.pid!).map((pid) => ({
      pid,
      rssMiB: kib(pid, 'status', ['VmRSS']) / 1024,
      what: (() => { try { return readFile(`/proc/${pid}/cmdline`).split('\0').filter(Boolean).slice(-2).join(' ').slice(-60); } catch { return '?'; } })(),
    }));
    return { rssMiB: sum('VmRSS') / 1024, pssMiB: sum('Pss') / 1024, processes };
  } finally {
    const exited = new Promise((res) => child.once('exit', res));
    if (child.exitCode === null) child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(force);
  }
}

/** Both phases; the figures go into `r` under loadedEcho*, bulk* and idleStart*. */
export async function measureInteractive(r: GatewayBenchResult, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const s = settings(env);
  const log = (line: string): void => console.log(`  … ${line}`);
  const sshd = await startSshd();
  // A second sshd as the jump host of the ProxyJump reference (BENCH_INTERACTIVE_PROXYJUMP=0 leaves it out).
  const jump = env.BENCH_INTERACTIVE_PROXYJUMP === '0' ? null : await startSshd();
  jump?.authorizeKey(sshd.publicKey);
  const dataDir = makeTempDir('bastion-bench-interactive-');
  try {
    const { keyPath, key } = await seed(dataDir, sshd);
    const direct = directRoute(sshd);
    const proxyJump = jump ? proxyJumpRoute(sshd, jump) : null;
    const cores = availableParallelism();
    // The workers `npm start` runs here (BASTION_GATEWAY_WORKERS=auto), or BENCH_WORKERS of them.
    const workerCount = env.BENCH_WORKERS ? Number(env.BENCH_WORKERS) : autoWorkers(cores);
    for (const [label, workers] of [['inProcess', 0], ['workers', workerCount]] as const) {
      if (label === 'workers' && cores < 2) continue;
      if (env.BENCH_TOPOLOGIES && !env.BENCH_TOPOLOGIES.split(',').includes(label)) continue;
      const gw = await startGatewayProcess(dataDir, env, workers);
      try {
        await settle(gw.pid);
        const e = await echoBesideBulk(bastionRoute(gw.port, keyPath, key), direct, proxyJump, s, gw.pid);
        r[`bulkEchoP50.${label}.gateway`] = pct(e.gateway, 50);
        r[`bulkEchoP95.${label}.gateway`] = pct(e.gateway, 95);
        r[`bulkEchoP50.${label}.direct`] = pct(e.direct, 50);
        r[`bulkEchoP95.${label}.direct`] = pct(e.direct, 95);
        if (e.proxyJump.length) {
          r[`bulkEchoP50.${label}.ProxyJump`] = pct(e.proxyJump, 50);
          r[`bulkEchoP95.${label}.ProxyJump`] = pct(e.proxyJump, 95);
        }
        r[`bulkMBps.${label}`] = e.bulkMBps;
        if (label === 'workers') r.workers = workers;
        log(`echo beside ${s.sessions} bulk shells${s.clientSessions ? ' (clients in sessions of their own)' : ''} (${label === 'workers' ? `${workers} gateway workers` : 'one gateway process'}, ${e.gateway.length} keys each, bulk ${e.bulkMBps.toFixed(0)} MB/s in all): `
          + `gateway p50 ${pct(e.gateway, 50).toFixed(2)} / p95 ${pct(e.gateway, 95).toFixed(2)} ms, direct p50 ${pct(e.direct, 50).toFixed(2)} / p95 ${pct(e.direct, 95).toFixed(2)} ms`
          + (e.proxyJump.length ? ` (ProxyJump, for reference: p50 ${pct(e.proxyJump, 50).toFixed(2)} / p95 ${pct(e.proxyJump, 95).toFixed(2)} ms, ${(pct(e.proxyJump, 95) / pct(e.direct, 95)).toFixed(2)}× direct)` : '')
          + (e.gatewayCpu ? `; the gateway's processes got ${e.gatewayCpu.cores.toFixed(2)} cores, preempted ${e.gatewayCpu.preemptedPerSecond.toFixed(0)}/s, waited by themselves ${e.gatewayCpu.yieldedPerSecond.toFixed(0)}/s; `
            + `their event loops ran ${e.gatewayCpu.mainRanMsPerSecond.toFixed(0)} ms/s and waited for a CPU ${e.gatewayCpu.mainWaitedMsPerSecond.toFixed(0)} ms/s` : ''));
        if (e.gatewayCpu) {
          r[`bulkGatewayCores.${label}`] = e.gatewayCpu.cores;
          r[`bulkGatewayPreemptedPerSecond.${label}`] = e.gatewayCpu.preemptedPerSecond;
          r[`bulkGatewayLoopWaitedMsPerSecond.${label}`] = e.gatewayCpu.mainWaitedMsPerSecond;
        }
      } finally {
        await gw.stop();
      }
    }
  } finally {
    await sshd.stop();
    await jump?.stop();
  }
  if (env.BENCH_SKIP_IDLE_MEMORY) return;
  const idle = await idleStartMemory();
  r['idleStartRssMiB'] = idle.rssMiB;
  r['idleStartPssMiB'] = idle.pssMiB;
  r['idleStartProcesses'] = idle.processes.length;
  log(`idle \`bastion start\` (defaults): ${idle.processes.map((p) => `${p.rssMiB.toFixed(0)} MiB [${p.what}]`).join(' + ')} = RSS ${idle.rssMiB.toFixed(0)} MiB, PSS ${idle.pssMiB.toFixed(0)} MiB`);
}

/** The rows of the gateway bench's table for these figures. */
export function interactiveRows(r: GatewayBenchResult): Array<[string, string, string, string, string, string]> {
  const f = (v: number | undefined, digits: number): string => (v === undefined || Number.isNaN(v) ? '—' : v.toFixed(digits));
  const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || !b ? '—' : `${(a / b).toFixed(2)}×`);
  const rows: Array<[string, string, string, string, string, string]> = [];
  for (const [label, name] of [['inProcess', 'one process'], ['workers', `${r.workers ?? '—'} workers`]] as const) {
    if (r[`bulkEchoP95.${label}.gateway`] === undefined) continue;
    rows.push([`echo p50 beside 20 bulk shells, ${name} (ms)`, f(r[`bulkEchoP50.${label}.direct`], 2), f(r[`bulkEchoP50.${label}.ProxyJump`], 2), f(r[`bulkEchoP50.${label}.gateway`], 2), ratio(r[`bulkEchoP50.${label}.gateway`], r[`bulkEchoP50.${label}.direct`]), 'Bastion/direct']);
    rows.push([`echo p95 beside 20 bulk shells, ${name} (ms)`, f(r[`bulkEchoP95.${label}.direct`], 2), f(r[`bulkEchoP95.${label}.ProxyJump`], 2), f(r[`bulkEchoP95.${label}.gateway`], 2), ratio(r[`bulkEchoP95.${label}.gateway`], r[`bulkEchoP95.${label}.direct`]), '≤ 2× direct']);
  }
  if (r.idleStartRssMiB !== undefined) {
    rows.push(['idle `npm start`, RSS of all processes (MiB)', '', '', f(r.idleStartRssMiB, 0), '', '≤ 200 MB']);
    rows.push(['  … PSS of all processes (MiB)', '', '', f(r.idleStartPssMiB, 0), '', '']);
  }
  return rows;
}

export async function runInteractiveBench(env: NodeJS.ProcessEnv = process.env): Promise<GatewayBenchResult> {
  const unavailable = sshdUnavailable();
  if (unavailable) throw new Error(`interactive bench skipped: ${unavailable}`);
  const r: GatewayBenchResult = {};
  console.log('\nInteractive traffic first: keystroke echo beside bulk output, and the idle footprint');
  try {
    await measureInteractive(r, env);
  } finally {
    await cleanup();
  }
  printRows(['metric', 'direct', 'ProxyJump', 'Bastion', 'ratio', 'target'], interactiveRows(r));
  return r;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runInteractiveBench().then(() => process.exit(0), (e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
