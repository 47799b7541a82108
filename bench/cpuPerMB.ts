/**
 * The gateway's CPU per relayed MB of PTY output: BENCH_CPU_SESSIONS (10) `ssh -tt` sessions each
 * print BENCH_CPU_MB (50) MB of log lines through one gateway process (BENCH_CPU_PTY=0: execs
 * without a PTY); the gateway's CPU time
 * (all its threads, from /proc) over the bytes the clients got. A figure that holds still on a
 * loaded host where latencies do not: every cut in it leaves the event loop idle more often.
 *
 * BENCH_CPU_CLIENT=pscp|psftp|sftp (issue 13, the PuTTY download rows of the clients bench): instead,
 * that SFTP client downloads a BENCH_CPU_MB (64) MB file from the asset BENCH_CPU_SESSIONS (3) times,
 * one after another, after four downloads that warm the gateway up and are not counted.
 *
 * BENCH_CPU_PERF=<file>: `perf record -g` samples the gateway process during the measured load only
 * (not its start or warm-up) into that file; add BENCH_GATEWAY_NODE_FLAGS=--perf-basic-prof for JS names.
 */
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { hostKeyFingerprints, opensshSftp, pscp, psftp, type Endpoint, type TextResult } from '../test/helpers/clients.ts';
import { startSshd, type Sshd } from '../test/helpers/sshd.ts';
import { cleanup, makeTempDir } from '../test/helpers/tmp.ts';
import { ALICE_PASSWORD, LOG_LINE, bastionRoute, intSetting, seed, settle, shq, startGatewayProcess } from './gateway.ts';

/** The SFTP clients BENCH_CPU_CLIENT may name: each downloads `remote` to `local`. */
const SFTP_DOWNLOADS: Record<string, (ep: Endpoint, remote: string, local: string) => Promise<TextResult>> = {
  pscp: (ep, r, l) => pscp(ep, `:${r}`, l),
  psftp: (ep, r, l) => psftp(ep, [`get ${r} ${l}`]),
  sftp: (ep, r, l) => opensshSftp(ep, [`get ${r} ${l}`]),
};

interface Counters { cpu: number; sys: number; reads: number; writes: number; preempted: number; yielded: number; faults: number }

/** CPU seconds this process's children that have ended used (the clients, for the SFTP loads). */
function childrenCpu(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
}

/** CPU seconds, read/write system calls, context switches and page faults (minor: memory the kernel had to map and zero) of the process (all its threads). */
function counters(pid: number): Counters {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const c: Counters = { cpu: (Number(f[11]) + Number(f[12])) / 100, sys: Number(f[12]) / 100, reads: Number(/syscr: (\d+)/.exec(io)?.[1]), writes: Number(/syscw: (\d+)/.exec(io)?.[1]), preempted: 0, yielded: 0, faults: Number(f[7]) };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      c.yielded += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      c.preempted += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return c;
}

/** The load: what it is, and a run that moves it through the gateway and says how many bytes the clients got. */
interface Load { what: string; run(): Promise<number> }

function shellLoad(env: NodeJS.ProcessEnv, port: number, keyPath: string, key: string): Load {
  const sessions = intSetting(env, 'BENCH_CPU_SESSIONS', 10, 1);
  const mb = intSetting(env, 'BENCH_CPU_MB', 50, 1);
  const pty = env.BENCH_CPU_PTY !== '0';
  const route = bastionRoute(port, keyPath, key);
  return {
    what: `${sessions} ${pty ? 'PTY sessions' : 'execs without a PTY'}`,
    async run() {
      const counts = await Promise.all(Array.from({ length: sessions }, () => {
        const ssh = ['ssh', pty ? '-tt' : '-T', ...route.sshArgs, `yes '${LOG_LINE}' | head -c ${mb * 1e6}`].map(shq).join(' ');
        return execa('sh', ['-c', `${ssh} < /dev/null | wc -c`], { reject: false }).then((r) => Number(r.stdout.trim()) || 0);
      }));
      return counts.reduce((a, b) => a + b, 0);
    },
  };
}

async function sftpLoad(env: NodeJS.ProcessEnv, client: string, port: number, sshd: Sshd, dir: string): Promise<Load & { warmUp(): Promise<void> }> {
  const download = SFTP_DOWNLOADS[client];
  if (!download) throw new Error(`BENCH_CPU_CLIENT must be one of ${Object.keys(SFTP_DOWNLOADS).join(', ')}`);
  const transfers = intSetting(env, 'BENCH_CPU_SESSIONS', 3, 1);
  const mb = intSetting(env, 'BENCH_CPU_MB', 64, 1);
  const remote = join(dir, 'seeded.bin');
  const local = join(dir, 'got.bin');
  await execa('sh', ['-c', `head -c ${mb * 1024 * 1024} /dev/urandom > '${remote}'`]);
  await execa('chown', [sshd.username, dir, remote]);
  const ep: Endpoint = { port, user: 'alice@web01', password: ALICE_PASSWORD, hostKeys: await hostKeyFingerprints(port) };
  const once = async (): Promise<number> => {
    const r = await download(ep, remote, local);
    const size = statSync(local, { throwIfNoEntry: false })?.size ?? 0;
    rmSync(local, { force: true });
    if (r.exitCode !== 0 || size !== mb * 1024 * 1024) throw new Error(`${client} download: exit ${r.exitCode}, ${size} bytes: ${r.stderr.slice(0, 300)}`);
    return size;
  };
  return {
    what: `${transfers} ${client} downloads of ${mb} MiB`,
    // V8 is still compiling (and re-compiling) the SFTP path over the first few sessions.
    async warmUp() {
      for (let i = 0; i < 4; i++) await once();
    },
    async run() {
      let total = 0;
      for (let i = 0; i < transfers; i++) total += await once();
      return total;
    },
  };
}

/** `perf record -g` on process `pid` until stop(). */
async function perfRecord(pid: number, file: string): Promise<{ stop(): Promise<void> }> {
  const child = execa('perf', ['record', '-F', '1999', '-g', '-p', String(pid), '-o', file], { reject: false, stdio: ['ignore', 'ignore', 'pipe'] });
  // perf says nothing when it starts sampling: give it a moment to attach.
  await new Promise((r) => setTimeout(r, 500));
  return {
    async stop() {
      child.kill('SIGINT');
      await child;
    },
  };
}

export async function runCpuPerMBBench(env: NodeJS.ProcessEnv = process.env): Promise<{ msPerMB: number; MBps: number }> {
  const client = env.BENCH_CPU_CLIENT;
  const sshd = await startSshd();
  const dataDir = makeTempDir('bastion-bench-cpu-');
  try {
    const { keyPath, key } = await seed(dataDir, sshd, client ? ['connect', 'download'] : undefined);
    const gw = await startGatewayProcess(dataDir, env, 0);
    try {
      let load: Load;
      if (client) {
        const sftp = await sftpLoad(env, client, gw.port, sshd, makeTempDir('bastion-bench-cpu-files-'));
        await sftp.warmUp();
        load = sftp;
      } else {
        load = shellLoad(env, gw.port, keyPath, key);
      }
      await settle(gw.pid);
      const perf = env.BENCH_CPU_PERF ? await perfRecord(gw.pid, env.BENCH_CPU_PERF) : null;
      const before = counters(gw.pid);
      const clients0 = childrenCpu();
      const t0 = performance.now();
      const bytes = await load.run().finally(() => perf?.stop());
      const seconds = (performance.now() - t0) / 1000;
      const after = counters(gw.pid);
      const clientsCpu = childrenCpu() - clients0;
      const cpu = after.cpu - before.cpu;
      const total = bytes / 1e6;
      const r = { msPerMB: (cpu * 1000) / total, MBps: total / seconds };
      const per = (k: keyof Counters): string => ((after[k] - before[k]) / total).toFixed(0);
      console.log(`cpu per MB: ${load.what}, ${total.toFixed(0)} MB in ${seconds.toFixed(1)} s (${r.MBps.toFixed(0)} MB/s): gateway CPU ${cpu.toFixed(2)} s = ${r.msPerMB.toFixed(2)} ms/MB (system ${(((after.sys - before.sys) * 1000) / total).toFixed(2)}); per MB ${per('reads')} reads, ${per('writes')} writes, preempted ${per('preempted')}, waited ${per('yielded')}, page faults ${per('faults')}${client ? `; the clients' CPU ${((clientsCpu * 1000) / total).toFixed(2)} ms/MB` : ''}`);
      return r;
    } finally {
      await gw.stop();
    }
  } finally {
    await sshd.stop();
    await cleanup();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runCpuPerMBBench().then(() => process.exit(0), (e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
