/**
 * The gateway's CPU per relayed MB of PTY output: BENCH_CPU_SESSIONS (10) `ssh -tt` sessions each
 * print BENCH_CPU_MB (50) MB of log lines through one gateway process (BENCH_CPU_PTY=0: execs
 * without a PTY); the gateway's CPU time
 * (all its threads, from /proc) over the bytes the clients got. A figure that holds still on a
 * loaded host where latencies do not: every cut in it leaves the event loop idle more often.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { startSshd } from '../test/helpers/sshd.ts';
import { cleanup, makeTempDir } from '../test/helpers/tmp.ts';
import { LOG_LINE, bastionRoute, intSetting, seed, settle, shq, startGatewayProcess } from './gateway.ts';

interface Counters { cpu: number; sys: number; reads: number; writes: number; preempted: number; yielded: number }

/** CPU seconds, read/write system calls and context switches of the process (all its threads). */
function counters(pid: number): Counters {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const c: Counters = { cpu: (Number(f[11]) + Number(f[12])) / 100, sys: Number(f[12]) / 100, reads: Number(/syscr: (\d+)/.exec(io)?.[1]), writes: Number(/syscw: (\d+)/.exec(io)?.[1]), preempted: 0, yielded: 0 };
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

export async function runCpuPerMBBench(env: NodeJS.ProcessEnv = process.env): Promise<{ msPerMB: number; MBps: number }> {
  const sessions = intSetting(env, 'BENCH_CPU_SESSIONS', 10, 1);
  const mb = intSetting(env, 'BENCH_CPU_MB', 50, 1);
  const pty = env.BENCH_CPU_PTY !== '0';
  const sshd = await startSshd();
  const dataDir = makeTempDir('bastion-bench-cpu-');
  try {
    const { keyPath, key } = await seed(dataDir, sshd);
    const gw = await startGatewayProcess(dataDir, env, 0);
    try {
      await settle(gw.pid);
      const route = bastionRoute(gw.port, keyPath, key);
      const before = counters(gw.pid);
      const t0 = performance.now();
      const counts = await Promise.all(Array.from({ length: sessions }, () => {
        const ssh = ['ssh', pty ? '-tt' : '-T', ...route.sshArgs, `yes '${LOG_LINE}' | head -c ${mb * 1e6}`].map(shq).join(' ');
        return execa('sh', ['-c', `${ssh} < /dev/null | wc -c`], { reject: false }).then((r) => Number(r.stdout.trim()) || 0);
      }));
      const seconds = (performance.now() - t0) / 1000;
      const after = counters(gw.pid);
      const cpu = after.cpu - before.cpu;
      const total = counts.reduce((a, b) => a + b, 0) / 1e6;
      const r = { msPerMB: (cpu * 1000) / total, MBps: total / seconds };
      const per = (k: keyof Counters): string => ((after[k] - before[k]) / total).toFixed(0);
      console.log(`cpu per MB: ${sessions} ${pty ? 'PTY sessions' : 'execs without a PTY'}, ${total.toFixed(0)} MB in ${seconds.toFixed(1)} s (${r.MBps.toFixed(0)} MB/s): gateway CPU ${cpu.toFixed(2)} s = ${r.msPerMB.toFixed(2)} ms/MB (system ${(((after.sys - before.sys) * 1000) / total).toFixed(2)}); per MB ${per('reads')} reads, ${per('writes')} writes, preempted ${per('preempted')}, waited ${per('yielded')}`);
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
