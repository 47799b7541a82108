/**
 * `npm start` as users run it (issue 13 item 8, issue 16): start-to-ready and the idle footprint.
 *
 *   - start-to-ready: from the spawn of `bastion start` (defaults: web server, gateway workers
 *     `auto`) on an empty data dir to the first `GET /readyz` answered 200 (database, recordings
 *     store and every gateway worker up); BENCH_STARTUP_RUNS (3) starts, median and worst
 *     (target ≤ 5 s)
 *   - the CPU time its processes used until ready: the work, whatever the machine's load
 *   - once the last start has held still: the RSS and PSS of each of its processes and their
 *     sums (target ≤ 200 MB RSS); PSS counts pages the processes share (the node binary) once
 *
 * BENCH_STARTUP_ENTRY=dist (default: the compiled build, as `npm start` runs it, built first if
 * stale) or =tsx (the TypeScript sources through tsx's loader, as before the build existed).
 * The load average at the start is printed beside the figures: the machine is shared.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MEMORY_ENV, MEMORY_FLAGS } from '../bin/memoryFlags.ts';
import { cleanup, makeTempDir } from '../test/helpers/tmp.ts';
import { freePort } from '../test/helpers/ports.ts';
import { productArgs } from '../test/helpers/productCommand.ts';
import { intSetting, kib, printRows, processTree, settle } from './gateway.ts';

export interface StartupProcess { pid: number; rssMiB: number; pssMiB: number; what: string }
export interface IdleMemory { rssMiB: number; pssMiB: number; processes: StartupProcess[] }
export interface StartupResult extends IdleMemory { readyMs: number[]; cpuMs: number[]; entry: 'dist' | 'tsx'; loadAvg: number[] }

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function commandOf(pid: number): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return argv.filter((a) => !MEMORY_FLAGS.includes(a)).slice(1).join(' ').replace(ROOT, '').slice(-60);
  } catch {
    return '?';
  }
}

async function readyz(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((res) => child.once('exit', res));
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(force);
}

const TICKS_PER_SECOND = 100;
/** CPU time (user + system) the process has used so far, in ms (USER_HZ ticks are 1/100 s on Linux). */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 1000 / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/**
 * One `bastion start` on an empty data dir: ms from spawn to /readyz 200, and the CPU time its
 * processes used until then (what a loaded machine stretches; it does not change with the load).
 * The child is left running.
 */
async function startOnce(entry: 'dist' | 'tsx'): Promise<{ child: ChildProcess; readyMs: number; cpuMs: number }> {
  const dataDir = makeTempDir('bastion-bench-startup-');
  const [http, ssh] = [await freePort(), await freePort()];
  const args = entry === 'tsx' ? [...MEMORY_FLAGS, '--import', 'tsx', 'bin/bastion.ts', 'start'] : productArgs('start');
  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    // npm start's environment: MALLOC_ARENA_MAX unless set (bin/memoryFlags.ts).
    env: { ...MEMORY_ENV, ...process.env, BASTION_DATA_DIR: dataDir, BASTION_HTTP_PORT: String(http), BASTION_SSH_PORT: String(ssh), BASTION_BIND: '127.0.0.1', BASTION_LOG_LEVEL: 'warn', BASTION_LOG_FORMAT: 'json', BASTION_ADMIN_PASSWORD: 'Bench-admin-pw-2024' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 3600; i++) {
    if (child.exitCode !== null) throw new Error(`bastion start exited (${child.exitCode})`);
    if (await readyz(http)) {
      const readyMs = performance.now() - t0;
      return { child, readyMs, cpuMs: processTree(child.pid!).reduce((t, pid) => t + cpuMs(pid), 0) };
    }
    await new Promise((res) => setTimeout(res, 50));
  }
  await stop(child);
  throw new Error('bastion start was not ready within 3 minutes');
}

/** The idle footprint of a started product: waits until it holds still (CPU, then RSS for 6 s). */
export async function idleMemory(root: number): Promise<IdleMemory> {
  await settle(root);
  const sum = (): number => processTree(root).reduce((t, pid) => t + kib(pid, 'status', ['VmRSS']), 0);
  let rss = sum();
  for (let still = 0, i = 0; still < 3 && i < 30; i++) {
    await new Promise((res) => setTimeout(res, 2000));
    const now = sum();
    still = Math.abs(now - rss) < 1024 ? still + 1 : 0;
    rss = now;
  }
  const processes = processTree(root).map((pid) => ({
    pid,
    rssMiB: kib(pid, 'status', ['VmRSS']) / 1024,
    pssMiB: kib(pid, 'smaps_rollup', ['Pss']) / 1024,
    what: commandOf(pid),
  }));
  return {
    rssMiB: processes.reduce((t, p) => t + p.rssMiB, 0),
    pssMiB: processes.reduce((t, p) => t + p.pssMiB, 0),
    processes,
  };
}

export async function measureStartup(env: NodeJS.ProcessEnv = process.env): Promise<StartupResult> {
  const entry = env.BENCH_STARTUP_ENTRY === 'tsx' ? 'tsx' : 'dist';
  const runs = intSetting(env, 'BENCH_STARTUP_RUNS', 3, 1);
  const loadAvg = loadavg();
  const readyMs: number[] = [];
  const cpu: number[] = [];
  let memory: IdleMemory | undefined;
  for (let i = 0; i < runs; i++) {
    const { child, readyMs: ms, cpuMs: used } = await startOnce(entry);
    readyMs.push(ms);
    cpu.push(used);
    try {
      if (i === runs - 1) memory = await idleMemory(child.pid!);
    } finally {
      await stop(child);
    }
  }
  return { ...memory!, readyMs, cpuMs: cpu, entry, loadAvg };
}

export async function runStartupBench(env: NodeJS.ProcessEnv = process.env): Promise<StartupResult> {
  try {
    const r = await measureStartup(env);
    const sorted = [...r.readyMs].sort((a, b) => a - b);
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`\nnpm start (${r.entry === 'dist' ? 'compiled dist/' : 'sources through tsx'}), load average ${r.loadAvg.map((l) => l.toFixed(2)).join(' ')} at the start`);
    const rows: Array<[string, string, string, string]> = [
      ['start to /readyz 200, median (s)', (sorted[Math.floor(sorted.length / 2)]! / 1000).toFixed(2), `${sorted.length} starts`, '≤ 5 s'],
      ['start to /readyz 200, worst (s)', (sorted[sorted.length - 1]! / 1000).toFixed(2), '', '≤ 5 s'],
      ['CPU time of its processes until ready, median (s)', (median(r.cpuMs) / 1000).toFixed(2), '', ''],
      ...r.processes.map((p): [string, string, string, string] => [`  RSS / PSS of ${p.what} (MiB)`, p.rssMiB.toFixed(0), p.pssMiB.toFixed(0), '']),
      [`idle RSS / PSS of all ${r.processes.length} processes (MiB)`, r.rssMiB.toFixed(0), r.pssMiB.toFixed(0), '≤ 200 MB RSS'],
    ];
    printRows(['metric', 'value', '', 'target'], rows);
    return r;
  } finally {
    await cleanup();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runStartupBench().then(() => process.exit(0), (e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
