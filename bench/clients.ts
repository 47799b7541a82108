/**
 * `npm run bench -- clients` (issue 13): the operators' own tools — OpenSSH scp/sftp/ssh,
 * PuTTY pscp/psftp, paramiko, rsync — moving one file through the gateway and through a
 * plain OpenSSH ProxyJump host to the same loopback sshd, in the same run. Prints MB/s per
 * client and operation for both routes, the ratio (target ≥ 0.9×, exec download ≥ 1.0×),
 * and how much the gateway's RSS grew during each transfer (it runs in this process).
 * Each figure is the wall time of the whole client run, login included.
 *
 * Each row first moves the file BENCH_CLIENT_WARMUP times (default 3) through each route untimed,
 * then
 * BENCH_CLIENT_RUNS (default 3) pairs of runs, alternating which route goes first, and reports
 * the median of the pairs' ratios with their lowest and highest: one sample of a ~0.5 s transfer
 * on a shared host swung PuTTY's ratio from 0.84× to 1.11× between bench runs. The warm-up: V8
 * compiles and re-optimises a client's path in the gateway over its first sessions, as the cpu
 * bench found (BENCH_CPU_CLIENT: four sessions) — a pscp download's gateway CPU per MB over six
 * sessions in a row, the first untimed: 5.5, 3.9, 3.6, 3.0, 2.5, 3.6, 2.8 ms — and a bastion serves
 * its operators warm. The ProxyJump route gets the same untimed transfers.
 *
 * BENCH_CLIENT_BYTES (default 64 MiB), BENCH_CLIENTS (only
 * the rows whose client and operation contain every word of one of these comma-separated filters, e.g.
 * `pscp,psftp` or `pscp download,psftp download`),
 * BENCH_CPU=1 (a line per transfer with this process's CPU time and, for downloads, when the first byte reached
 * the disk: login and session setup, then the transfer; and each route's CPU per MB by process: the client, the
 * gateway, the asset's sshd). Like the rss bench, it runs itself again
 * with the product's memory and GC flags when this process lacks them.
 *
 * `npm run bench -- rss` (issue 13: the gateway's RSS flat, ± 20 MB, during a 1 GiB transfer with
 * any client): the same transfers through the gateway only, BENCH_RSS_BYTES each (default 1 GiB),
 * sampling the gateway's RSS every 50 ms; prints each transfer's peak growth over the RSS at its
 * start, and for SFTP sessions the proxy's own peaks (requests queued, at the asset, read ahead).
 * Each client run may take CLIENTS_TIMEOUT_S (default 180; a 1 GiB pscp upload on a loaded host took longer).
 * The rss bench runs itself again with the product's memory flags and environment (bin/memoryFlags.ts)
 * if this process lacks them; BENCH_RSS_DETAIL=1 prints the heap, ArrayBuffers and /proc's RssAnon/RssFile at each peak;
 * BENCH_HEAP_PROFILE=1 where on the heap what outlived a young-generation collection was made (startHeapSampling).
 */
import { readFileSync, statSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawn } from 'node:child_process';
import { MEMORY_ENV, MEMORY_FLAGS } from '../bin/memoryFlags.ts';
import { execa } from 'execa';
import { startSshd, sshdUnavailable } from '../test/helpers/sshd.ts';
import { cleanup, makeTempDir } from '../test/helpers/tmp.ts';
import { ALICE_PASSWORD, startWorld } from '../test/gatewayFixture.ts';
import {
  hostKeyFingerprints, opensshExecToFile, opensshScp, opensshSftp, paramiko, pscp, psftp, rsync, type Endpoint, type TextResult,
} from '../test/helpers/clients.ts';
import type { SftpProxyStats } from '../gateway/sftp/sftpProxy.ts';

const MiB = 1024 * 1024;
const QUIET = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes'];

interface Operation {
  client: string;
  op: 'upload' | 'download';
  /** Runs over SFTP (the proxy's peaks are reported). */
  sftp?: boolean;
  /** Moves `local` to `remote` (upload) or `remote` to `local` (download). */
  run(ep: Endpoint, local: string, remote: string, bytes: number): Promise<TextResult>;
}

const OPERATIONS: Operation[] = [
  { client: 'scp (OpenSSH, SFTP)', op: 'upload', sftp: true, run: (ep, l, r) => opensshScp(ep, l, `:${r}`) },
  { client: 'scp (OpenSSH, SFTP)', op: 'download', sftp: true, run: (ep, l, r) => opensshScp(ep, `:${r}`, l) },
  { client: 'sftp (OpenSSH)', op: 'upload', sftp: true, run: (ep, l, r) => opensshSftp(ep, [`put ${l} ${r}`]) },
  { client: 'sftp (OpenSSH)', op: 'download', sftp: true, run: (ep, l, r) => opensshSftp(ep, [`get ${r} ${l}`]) },
  { client: 'ssh cat (exec)', op: 'download', run: (ep, l, r) => opensshExecToFile(ep, `cat ${r}`, l) },
  // The gateway bench's exec row: log-like text made on the asset, no disk read there.
  { client: 'ssh yes|head (exec)', op: 'download', run: (ep, l, _r, n) => opensshExecToFile(ep, `yes '2024-05-01T12:00:00Z INFO request served in 12 ms path=/api/v1/items status=200' | head -c ${n}`, l) },
  { client: 'pscp (PuTTY)', op: 'upload', sftp: true, run: (ep, l, r) => pscp(ep, l, `:${r}`) },
  { client: 'pscp (PuTTY)', op: 'download', sftp: true, run: (ep, l, r) => pscp(ep, `:${r}`, l) },
  { client: 'psftp (PuTTY)', op: 'upload', sftp: true, run: (ep, l, r) => psftp(ep, [`put ${l} ${r}`]) },
  { client: 'psftp (PuTTY)', op: 'download', sftp: true, run: (ep, l, r) => psftp(ep, [`get ${r} ${l}`]) },
  { client: 'paramiko', op: 'upload', sftp: true, run: (ep, l, r) => paramiko(ep, { op: 'put', local: l, remote: r }) },
  { client: 'paramiko', op: 'download', sftp: true, run: (ep, l, r) => paramiko(ep, { op: 'get', local: l, remote: r }) },
  { client: 'rsync', op: 'upload', run: (ep, l, r) => rsync(ep, ['--whole-file', l, `:${r}`]) },
  { client: 'rsync', op: 'download', run: (ep, l, r) => rsync(ep, ['--whole-file', `:${r}`, l]) },
];

interface Row {
  client: string;
  op: string;
  /** MB/s: the median of the runs (the rss bench: the best). */
  bastion: number;
  proxyJump: number;
  /** Bastion/ProxyJump of each pair of runs, made side by side. */
  ratios: number[];
  rssMiB: number;
  /** SFTP sessions: the proxy's peaks (MiB): queued in the gateway, at the asset, read ahead. */
  sftp?: { queued: number; requests: number; inFlight: number; readAhead: number };
}

interface BenchOptions {
  bytes: number;
  runs: number;
  /** Untimed transfers per route before a row's runs. */
  warmUp: number;
  only: string[];
  /** Through ProxyJump too (the ratio), or through the gateway only (the rss bench). */
  proxyJump: boolean;
}

function clientsOptions(env: NodeJS.ProcessEnv, bytes: number, proxyJump: boolean): BenchOptions {
  return {
    bytes,
    runs: Math.max(1, Number(env.BENCH_CLIENT_RUNS ?? (proxyJump ? 3 : 1))),
    // The rss bench's 1 GiB transfers are long enough to warm up in.
    warmUp: proxyJump ? Math.max(0, Number(env.BENCH_CLIENT_WARMUP ?? 3)) : 0,
    only: (env.BENCH_CLIENTS ?? '').split(',').map((w) => w.trim().toLowerCase()).filter(Boolean),
    proxyJump,
  };
}

/**
 * The gateway runs in this process: with the product's memory and GC flags and environment, as
 * every Bastion process does (bin/memoryFlags.ts), or the figures are not the product's (V8's
 * GC helper threads alone change where a transfer's CPU goes). False when this process lacks
 * them: it has then run `which` again in a child that has them.
 */
async function asTheProduct(which: 'clients' | 'rss', env: NodeJS.ProcessEnv): Promise<boolean> {
  const missingFlags = MEMORY_FLAGS.filter((f) => !process.execArgv.includes(f));
  const missingEnv = Object.entries(MEMORY_ENV).filter(([k]) => env[k] === undefined);
  if (missingFlags.length === 0 && missingEnv.length === 0) return true;
  const child = spawn(process.execPath, [...process.execArgv, ...missingFlags, fileURLToPath(import.meta.url), which], {
    env: { ...env, ...Object.fromEntries(missingEnv) }, stdio: 'inherit',
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the ${which} bench exited with ${code}`);
  return false;
}

export async function runClientsBench(env: NodeJS.ProcessEnv = process.env): Promise<Row[]> {
  if (!(await asTheProduct('clients', env))) return [];
  const rows = await measure(clientsOptions(env, Number(env.BENCH_CLIENT_BYTES ?? 64 * MiB), true));
  printTable(rows);
  return rows;
}

export async function runRssBench(env: NodeJS.ProcessEnv = process.env): Promise<Row[]> {
  if (!(await asTheProduct('rss', env))) return [];
  const rows = await measure(clientsOptions(env, Number(env.BENCH_RSS_BYTES ?? 1024 * MiB), false));
  printRssTable(rows);
  return rows;
}

async function measure({ bytes, runs, warmUp, only, proxyJump: withProxyJump }: BenchOptions): Promise<Row[]> {
  const unavailable = sshdUnavailable();
  if (unavailable) throw new Error(`clients bench skipped: ${unavailable}`);
  const sftpPeaks: SftpProxyStats[] = [];
  const w = await startWorld({ actions: ['connect', 'upload', 'download'], gateway: { onSftpEnd: (p) => sftpPeaks.push(p) } });
  const jump = await startSshd();
  jump.authorizeKey(w.sshd.publicKey);
  const rows: Row[] = [];
  try {
    const remote = makeTempDir('bastion-bench-clients-remote-');
    await execa('chown', [w.sshd.username, remote]);
    const local = makeTempDir('bastion-bench-clients-local-');
    const src = join(local, 'src.bin');
    const seeded = join(remote, 'seeded.bin');
    // Written by head, not from a Buffer here: a 1 GiB buffer would sit in the gateway's process.
    for (const f of [src, seeded]) await execa('sh', ['-c', `head -c ${bytes} /dev/urandom > '${f}'`]);
    await execa('chown', [w.sshd.username, seeded]);

    const bastion: Endpoint = { port: w.gw.port, user: 'alice@web01', password: ALICE_PASSWORD, hostKeys: await hostKeyFingerprints(w.gw.port) };
    const proxyCommand = ['ssh', ...QUIET, '-i', w.sshd.privateKeyPath, '-p', String(jump.port), '-W', '%h:%p', `${jump.username}@127.0.0.1`].join(' ');
    const proxyJump: Endpoint = { port: w.sshd.port, user: w.sshd.username, password: w.sshd.password, hostKeys: [w.sshd.hostKeyFingerprint], proxyCommand };

    console.log(withProxyJump
      ? `\nClients benchmark: ${(bytes / MiB).toFixed(0)} MiB per transfer, after ${warmUp} untimed transfers each way, ${runs} pairs of runs (alternating which goes first) through the gateway (Bastion) and an OpenSSH ProxyJump host to the same sshd; MB/s and ratio are medians`
      : `\nGateway RSS during transfers: ${(bytes / MiB).toFixed(0)} MiB per transfer through the gateway, RSS sampled every 50 ms`);
    let n = 0;
    const once = async (o: Operation, ep: Endpoint, sampleRss: boolean): Promise<{ mbps: number; rss: number }> => {
      const name = `f${++n}.bin`;
      const [l, r] = o.op === 'upload' ? [src, join(remote, name)] : [join(local, name), seeded];
      if (sampleRss && process.env.BENCH_RSS_DETAIL) console.log(`    before: ${rssParts()}`);
      const base = process.memoryUsage();
      let peak = base;
      let peakParts = '';
      // The most of each at any sample: at the RSS peak the buffers that made it may already be freed (malloc keeps the pages).
      const most = { heapTotal: base.heapTotal, arrayBuffers: base.arrayBuffers };
      const sampler = sampleRss ? setInterval(() => {
        const now = process.memoryUsage();
        most.heapTotal = Math.max(most.heapTotal, now.heapTotal);
        most.arrayBuffers = Math.max(most.arrayBuffers, now.arrayBuffers);
        if (now.rss <= peak.rss) return;
        peak = now;
        if (process.env.BENCH_RSS_DETAIL) peakParts = rssParts();
      }, 50) : null;
      const prof = sampleRss && process.env.BENCH_HEAP_PROFILE ? await startHeapSampling() : null;
      const cpu0 = process.cpuUsage();
      const route0 = process.env.BENCH_CPU ? routeCpu(w.sshd.dir) : null;
      const t0 = performance.now();
      // A download's first byte on disk splits the run into login and setup, then the transfer.
      let firstByte: number | null = null;
      const watcher = process.env.BENCH_CPU && o.op === 'download' ? setInterval(() => {
        if (firstByte === null && sizeOf(l) > 0) firstByte = performance.now();
      }, 5) : null;
      const res = await o.run(ep, l, r, bytes).finally(() => {
        if (sampler) clearInterval(sampler);
        if (watcher) clearInterval(watcher);
      });
      const secs = (performance.now() - t0) / 1000;
      if (prof) await prof();
      const cpu = process.cpuUsage(cpu0);
      const route = route0 ? await routeCpuSince(route0, w.sshd.dir) : null;
      const perMB = (seconds: number): string => ((seconds * 1000) / (bytes / 1e6)).toFixed(2);
      const split = firstByte === null ? '' : `, first byte after ${((firstByte - t0) / 1000).toFixed(3)} s, then ${((t0 + secs * 1000 - firstByte) / 1000).toFixed(3)} s`;
      if (process.env.BENCH_CPU) console.log(`    ${o.client} ${o.op} ${ep === bastion ? 'gw' : 'pj'}: ${(bytes / 1e6 / secs).toFixed(1)} MB/s in ${secs.toFixed(3)} s${split}, this process ${(((cpu.user + cpu.system) / 1e6 / secs) * 100).toFixed(0)}% CPU (user ${(cpu.user / 1e6).toFixed(2)}s sys ${(cpu.system / 1e6).toFixed(2)}s)${route ? `; CPU ms/MB: client ${perMB(route.clients)}${ep === bastion ? `, gateway ${perMB((cpu.user + cpu.system) / 1e6)}` : ''}, asset sshd ${perMB(route.asset)}` : ''}`);
      const out = o.op === 'upload' ? r : l;
      const size = sizeOf(out);
      if (res.exitCode !== 0 || size !== bytes) throw new Error(`${o.client} ${o.op}: exit ${res.exitCode}, ${size} bytes: ${res.stderr.slice(0, 300)}`);
      rmSync(out, { force: true });
      if (sampleRss && process.env.BENCH_RSS_DETAIL) {
        const d = (k: keyof NodeJS.MemoryUsage) => `${k} ${((peak[k] - base[k]) / MiB).toFixed(1)}`;
        console.log(`    ${o.client} ${o.op} at the RSS peak: ${(['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers'] as const).map(d).join(', ')} MiB over the start; at the peak ${peakParts}; most over the start: heapTotal ${((most.heapTotal - base.heapTotal) / MiB).toFixed(1)}, arrayBuffers ${((most.arrayBuffers - base.arrayBuffers) / MiB).toFixed(1)} MiB`);
      }
      return { mbps: bytes / 1e6 / secs, rss: (peak.rss - base.rss) / MiB };
    };
    const chosen = OPERATIONS.filter((o) => only.length === 0 || only.some((f) => f.split(/\s+/).every((w) => `${o.client} ${o.op}`.toLowerCase().includes(w))));
    // The gateway's first sessions warm it up (code compiled, pools filled): not a transfer's growth,
    // nor its speed — a bastion serves its operators warm, and sshd behind ProxyJump has nothing to
    // compile. Without it a run of only some rows (BENCH_CLIENTS=pscp) timed V8 compiling the SFTP
    // path where the whole bench, whose earlier rows had warmed it, did not.
    await bastionWarmUp(bastion, local, remote);
    for (const o of chosen) {
      const b: number[] = [];
      const j: number[] = [];
      let rss = 0;
      for (let i = 0; i < warmUp; i++) {
        await once(o, proxyJump, false);
        await once(o, bastion, false);
      }
      const seen = sftpPeaks.length;
      for (let i = 0; i < runs; i++) {
        // Which route goes first alternates: a load that comes or goes during a pair favours neither.
        const jumpFirst = i % 2 === 0;
        if (withProxyJump && jumpFirst) j.push((await once(o, proxyJump, false)).mbps);
        const g = await once(o, bastion, true);
        b.push(g.mbps);
        rss = Math.max(rss, g.rss);
        if (withProxyJump && !jumpFirst) j.push((await once(o, proxyJump, false)).mbps);
      }
      const ratios = j.map((x, i) => b[i]! / x);
      // The session's row is written once the client has gone: wait a moment for it.
      for (let i = 0; i < 20 && o.sftp && sftpPeaks.length === seen; i++) await new Promise((r) => setTimeout(r, 50));
      const peaks = sftpPeaks.slice(seen);
      const peak = (f: (p: SftpProxyStats) => number) => Math.max(0, ...peaks.map(f)) / MiB;
      const sftp = peaks.length > 0 ? { queued: peak((p) => p.maxQueuedBytes), requests: Math.max(0, ...peaks.map((p) => p.maxQueued)), inFlight: peak((p) => p.maxInFlightBytes), readAhead: peak((p) => p.readAhead.maxBytes) } : undefined;
      const row: Row = { client: o.client, op: o.op, bastion: withProxyJump ? median(b) : Math.max(...b), proxyJump: withProxyJump ? median(j) : 0, ratios, rssMiB: rss, ...(sftp ? { sftp } : {}) };
      rows.push(row);
      console.log(`  … ${o.client} ${o.op}: ${row.bastion.toFixed(1)} MB/s through the gateway${withProxyJump ? `, ${row.proxyJump.toFixed(1)} MB/s through ProxyJump, ratios ${ratios.map((r) => r.toFixed(2)).join(' ')}` : ''}, RSS +${rss.toFixed(1)} MiB`);
    }
    return rows;
  } finally {
    await jump.stop();
    await w.stop();
    await cleanup();
  }
}

interface RouteCpu { clients: number; asset: number }

/** CPU seconds of processes that have ended and been reaped: by this process (the clients), by the asset sshd's listener (its connections). */
function routeCpu(assetDir: string): RouteCpu {
  const reaped = (statPath: string): number => {
    try {
      const stat = readFileSync(statPath, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(f[13]) + Number(f[14])) / 100;
    } catch {
      return 0;
    }
  };
  const listener = (dir: string): string => `/proc/${readFileSync(join(dir, 'sshd.pid'), 'utf8').trim()}/stat`;
  return { clients: reaped('/proc/self/stat'), asset: reaped(listener(assetDir)) };
}

/**
 * BENCH_CPU=1: where a transfer's CPU went on each route — the client, the gateway (this process,
 * login included), the asset's sshd and sftp-server — so that the routes' costs per MB can be set
 * side by side. Through ProxyJump the client talks to the asset's sshd itself, with the cipher they
 * agree on (PuTTY's own preference, not the AEAD the gateway offers it). Not counted: the jump
 * host's sshd and the client's `ssh -W`, which outlive the client. An sshd connection's process is
 * reaped by its listener a moment after the client has gone: waited for, up to a second.
 */
async function routeCpuSince(before: RouteCpu, assetDir: string): Promise<RouteCpu> {
  let now = routeCpu(assetDir);
  for (let i = 0; i < 20 && now.asset === before.asset; i++) {
    await new Promise((r) => setTimeout(r, 50));
    now = routeCpu(assetDir);
  }
  await new Promise((r) => setTimeout(r, 100));
  now = routeCpu(assetDir);
  return { clients: now.clients - before.clients, asset: now.asset - before.asset };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
}

/** This process's resident memory by kind (MiB), from /proc: anonymous (heap, malloc) and file-backed (the node binary's code). */
function rssParts(): string {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return ['RssAnon', 'RssFile'].map((k) => `${k} ${(kib(k) / 1024).toFixed(1)}`).join(', ');
}

/**
 * Uploads to the asset's directory (`remote`, which its user may write: the warm-up wrote into
 * `local`, refused there, so nothing was warmed), and fails the bench if a step fails. The
 * exec `cat` also starts the recording's hashing thread (hashThread.ts), a one-off ~10 MiB that
 * is the process's, not a transfer's; it stops after 30 s without work, and a row that starts it
 * again shows it (the full rss bench's rsync rows, after the SFTP rows).
 */
async function bastionWarmUp(ep: Endpoint, local: string, remote: string): Promise<void> {
  const f = join(local, 'warm.bin');
  const up = join(remote, 'warm.bin');
  await execa('sh', ['-c', `head -c ${16 * MiB} /dev/urandom > '${f}'`]);
  for (const step of [() => opensshScp(ep, f, `:${up}`), () => opensshScp(ep, `:${up}`, `${f}.back`), () => opensshExecToFile(ep, `cat ${up}`, `${f}.down`)]) {
    const res = await step();
    if (res.exitCode !== 0) throw new Error(`the gateway's warm-up failed: ${res.stderr.slice(0, 300)}`);
  }
  for (const x of [f, up, `${f}.back`, `${f}.down`]) rmSync(x, { force: true });
}

function printRssTable(rows: Row[]): void {
  const header = ['client', 'operation', 'Bastion MB/s', 'gw RSS peak +MiB', 'target', 'SFTP: writes queued / at asset / read ahead (MiB), requests queued'];
  const body = rows.map((r) => [
    r.client, r.op, r.bastion.toFixed(1), r.rssMiB.toFixed(1), '≤ 20 MB',
    r.sftp ? `${r.sftp.queued.toFixed(1)} / ${r.sftp.inFlight.toFixed(1)} / ${r.sftp.readAhead.toFixed(1)}, ${r.sftp.requests}` : '',
  ]);
  printRows(header, body);
}

function printTable(rows: Row[]): void {
  const header = ['client', 'operation', 'Bastion MB/s', 'ProxyJump MB/s', 'Bastion/PJ (median)', 'lowest–highest', 'target', 'gw RSS +MiB'];
  const body = rows.map((r) => [
    r.client, r.op, r.bastion.toFixed(1), r.proxyJump.toFixed(1), `${median(r.ratios).toFixed(2)}×`,
    `${Math.min(...r.ratios).toFixed(2)}–${Math.max(...r.ratios).toFixed(2)}`,
    r.client.includes('exec') ? '≥ 1.0×' : '≥ 0.9×', r.rssMiB.toFixed(1),
  ]);
  printRows(header, body);
}

function printRows(header: string[], body: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const b of body) console.log(line(b));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv[2] === 'rss') await runRssBench();
  else await runClientsBench();
}

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

/**
 * BENCH_HEAP_PROFILE=1: V8's sampling heap profiler over one transfer, counting only objects that
 * survived a young-generation collection — what a transfer leaves in the old generation for a
 * full collection to free (issue 13: the READs of a paramiko get). Prints the 25 biggest
 * allocation sites (four frames each) when stopped.
 */
async function startHeapSampling(): Promise<() => Promise<void>> {
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params: object = {}): Promise<T> =>
    new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res as T))));
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false });
  return async () => {
    const { profile } = await post<{ profile: { head: SamplingNode } }>('HeapProfiler.stopSampling');
    session.disconnect();
    const sites = new Map<string, number>();
    const walk = (n: SamplingNode, stack: string[]): void => {
      const f = n.callFrame;
      const frames = [`${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber}`, ...stack].slice(0, 4);
      const site = frames.join(' < ');
      if (n.selfSize > 0) sites.set(site, (sites.get(site) ?? 0) + n.selfSize);
      for (const c of n.children) walk(c, frames);
    };
    walk(profile.head, []);
    const total = [...sites.values()].reduce((a, b) => a + b, 0);
    console.log(`    surviving a young collection: ${(total / MiB).toFixed(1)} MiB (sampled), by allocation site:`);
    for (const [site, bytes] of [...sites.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`      ${(bytes / MiB).toFixed(2)} MiB  ${site}`);
  };
}
