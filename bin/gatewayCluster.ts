/**
 * Gateway worker processes (node:cluster): each worker runs its own ssh2 server, so one busy
 * session's event loop cannot stall the others. The primary listens on the SSH port and hands
 * each connection to a worker in turn (connectionHandoff.ts), keeps the web server (if any) and
 * relays the bus between processes.
 */
import cluster, { type Worker } from 'node:cluster';
import { ConnectionHandoff, takeHandedConnections } from './connectionHandoff.ts';
import { WorkerWatchdog, answerPings } from './workerWatchdog.ts';
import type { Config } from '../core/config.ts';
import { ClusterBus } from '../core/bus.ts';
import { createServices } from '../core/services.ts';
import { loadHostKeys } from '../gateway/hostKeys.ts';
import type { Metrics, MetricsJson } from '../core/metrics.ts';
import type { Readiness } from '../core/readiness.ts';
import { leaseHolder, type SshConnectionLeases } from '../core/audit/sshConnections.ts';
import { MEMORY_ENV, MEMORY_FLAGS } from './memoryFlags.ts';
import { WORKER_KILL_AFTER_MS, WORKER_SHUTDOWN_DEADLINE_MS } from './shutdownDeadlines.ts';

/** A worker → its primary: it takes connections from now on. */
interface ReadyMessage { __gatewayReady: true }
const isReady = (m: unknown): m is ReadyMessage => typeof m === 'object' && m !== null && '__gatewayReady' in m;

/** The primary asks a worker for its metrics (GET /metrics adds them up); the worker answers with the same id. */
interface MetricsRequest { __bastionMetrics: 'req'; id: number }
interface MetricsResponse { __bastionMetrics: 'res'; id: number; metrics: MetricsJson }
const isMetricsMessage = <K extends 'req' | 'res'>(m: unknown, kind: K): m is K extends 'req' ? MetricsRequest : MetricsResponse =>
  typeof m === 'object' && m !== null && (m as { __bastionMetrics?: unknown }).__bastionMetrics === kind;
/** A worker that does not answer in this time is left out of that scrape. */
const METRICS_TIMEOUT_MS = 2000;

/** A worker that dies sooner than this after its start counts as failing to start. */
const QUICK_DEATH_MS = 10_000;

/**
 * How long to wait before replacing a worker after `quickDeaths` deaths in a row, each soon after
 * its start: 0.5 s, doubling up to 30 s. A worker that cannot start (database gone, port taken)
 * would otherwise be forked twice a second forever, keeping the host's cores busy.
 */
export function restartDelayMs(quickDeaths: number): number {
  return Math.min(500 * 2 ** Math.max(0, quickDeaths - 1), 30_000);
}

/** What the primary's own services learn of its workers: their metrics, whether any is up, and which exited. */
export interface WorkerHooks {
  metrics?: Metrics;
  readiness?: Readiness;
  /** A worker that exits takes its connections with it: their rows stop counting at once. */
  connections?: SshConnectionLeases;
}

/**
 * In the primary: forks `count` workers, restarts any that die, resolves with the SSH port once all listen.
 * A worker reads its config from its environment, inherited from the primary's; `workerEnv` adds
 * to it when the primary's config did not come from its own environment (the test fixture's).
 */
export async function startGatewayWorkers(config: Config, count: number, bus: ClusterBus, say: (line: string) => void, workerEnv: Record<string, string> = {}, hooks: WorkerHooks = {}): Promise<{ port: number; stop(): Promise<void> }> {
  // Host keys are made here, once, so workers starting together never race to create them.
  loadHostKeys(config.dataDir);
  // The port first: a port already taken fails the start here, before any worker is forked.
  const handoff = new ConnectionHandoff(say, { holdPerSource: config.maxStartupsPerSource });
  const port = await handoff.listen(config.sshPort, config.bind);
  let stopping = false;
  const workers = new Set<Worker>();
  // Killed, it exits like any worker that dies: its connections stop counting and another is started.
  const watchdog = new WorkerWatchdog((w, silentMs) => {
    say(`gateway worker ${w.process.pid} has not answered for ${Math.round(silentMs / 1000)} s (its event loop is stuck); killing it`);
    w.process.kill('SIGKILL');
  });
  let resolveReady: () => void;
  const allReady = new Promise<void>((r) => { resolveReady = r; });
  let ready = 0;
  const execArgv = cluster.settings.execArgv ?? process.execArgv;
  const missing = MEMORY_FLAGS.filter((flag) => !execArgv.some((a) => a.startsWith(flag.split('=')[0]!)));
  if (missing.length > 0) cluster.setupPrimary({ execArgv: [...execArgv, ...missing] });
  // Each worker is told how many there are (its share of the host's limits), whatever `auto` means where it runs.
  let quickDeaths = 0;
  const fork = () => {
    const startedAt = Date.now();
    // glibc reads MALLOC_ARENA_MAX when the worker starts: it is given here, whatever started the primary.
    const memoryEnv = Object.fromEntries(Object.entries(MEMORY_ENV).filter(([k]) => process.env[k] === undefined && workerEnv[k] === undefined));
    const w = cluster.fork({ ...memoryEnv, ...workerEnv, BASTION_GATEWAY_WORKER: '1', BASTION_GATEWAY_WORKERS: String(count) });
    workers.add(w);
    bus.addPeer(w, true);
    w.on('message', (m: unknown) => {
      if (!isReady(m)) return;
      handoff.addWorker(w);
      watchdog.watch(w);
      if (++ready === count) resolveReady();
    });
    // IPC to a worker that is exiting fails; its exit (below) is what counts.
    w.on('error', () => undefined);
    // Its connections on their way go to another only once its channel has ended too (connectionHandoff.ts).
    w.process.once('close', () => handoff.workerClosed(w));
    w.on('exit', (code, signal) => {
      watchdog.forget(w);
      workers.delete(w);
      bus.removePeer(w);
      handoff.removeWorker(w);
      const pid = w.process.pid;
      // Not while stopping: each worker frees its own in its shutdown, and the database closes next.
      if (!stopping && pid !== undefined && hooks.connections) {
        hooks.connections.dropHolder(leaseHolder(pid)).catch((err: unknown) => say(`the connections of gateway worker ${pid} could not be freed now (${(err as Error).message}); they stop counting after three heartbeat periods`));
      }
      if (stopping) {
        // A worker that did not stop cleanly is said: its log tells which part of its shutdown failed.
        if (code !== 0) say(`gateway worker ${pid} did not stop cleanly (${signal ?? code})`);
        return;
      }
      quickDeaths = Date.now() - startedAt < QUICK_DEATH_MS ? quickDeaths + 1 : 0;
      const delay = restartDelayMs(quickDeaths);
      say(`gateway worker ${pid} exited (${signal ?? code}); starting another in ${(delay / 1000).toFixed(1)} s`);
      setTimeout(fork, delay).unref();
    });
  };
  for (let i = 0; i < count; i++) fork();
  await allReady;
  let nextRequest = 0;
  const workerMetrics = (): Promise<MetricsJson[]> => {
    const id = ++nextRequest;
    return Promise.all([...workers].filter((w) => w.isConnected()).map((w) => new Promise<MetricsJson | null>((resolve) => {
      const timer = setTimeout(() => { w.off('message', onMessage); resolve(null); }, METRICS_TIMEOUT_MS);
      const onMessage = (m: unknown) => {
        if (!isMetricsMessage(m, 'res') || m.id !== id) return;
        clearTimeout(timer);
        w.off('message', onMessage);
        resolve(m.metrics);
      };
      w.on('message', onMessage);
      try {
        w.send({ __bastionMetrics: 'req', id } satisfies MetricsRequest, () => undefined);
      } catch {
        clearTimeout(timer);
        w.off('message', onMessage);
        resolve(null);
      }
    }))).then((all) => all.filter((m): m is MetricsJson => m !== null));
  };
  const unhook = [
    hooks.metrics?.addSource(workerMetrics),
    hooks.readiness?.add('gateway', async () => {
      if (!handoff.listening) throw new Error('the SSH gateway is not listening');
      if (![...workers].some((w) => w.isConnected())) throw new Error('no gateway worker is running');
      if (!handoff.taking) throw new Error('no gateway worker is taking connections');
    }),
  ];
  return {
    port,
    stop: async () => {
      stopping = true;
      // A worker busy ending its sessions is not stuck.
      watchdog.stop();
      for (const off of unhook) off?.();
      handoff.close();
      await Promise.all([...workers].map((w) => new Promise<void>((resolve) => {
        if (w.isDead()) { resolve(); return; }
        const kill = setTimeout(() => {
          say(`gateway worker ${w.process.pid} did not exit within ${WORKER_KILL_AFTER_MS} ms of SIGTERM; killing it`);
          w.process.kill('SIGKILL');
        }, WORKER_KILL_AFTER_MS);
        w.once('exit', () => { clearTimeout(kill); resolve(); });
        w.process.kill('SIGTERM');
      })));
    },
  };
}

/** In a worker: the gateway over its own services, told about the rest through the primary. */
export async function runGatewayWorker(config: Config): Promise<void> {
  const bus = new ClusterBus();
  bus.addPeer(process as unknown as Parameters<ClusterBus['addPeer']>[0], false);
  const services = await createServices(config, { bus, primary: false, processName: `gateway-worker-${cluster.worker?.id ?? process.pid}` });
  // The primary's GET /metrics asks each worker for its numbers.
  process.on('message', (m: unknown) => {
    if (!isMetricsMessage(m, 'req')) return;
    void services.metrics.json().then((metrics) => {
      process.send?.({ __bastionMetrics: 'res', id: m.id, metrics } satisfies MetricsResponse, () => undefined);
    });
  });
  // The gateway's modules load here, in the worker: the primary, which forks workers, never runs a gateway.
  const { startGateway } = await import('../gateway/index.ts');
  // The primary hands connections to the workers in turn: each holds its share of the start-up limits.
  const gw = await startGateway(services, { startupShares: config.gatewayWorkers, listen: false });
  takeHandedConnections(gw, process);
  answerPings(process);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // Exits before the primary's own deadline: a shutdown stuck on anything (a session that will
    // not end, a database that does not answer) must not leave this process behind its primary.
    setTimeout(() => {
      services.log.error({ deadlineMs: WORKER_SHUTDOWN_DEADLINE_MS }, 'gateway worker shutdown did not finish in time; exiting');
      process.exit(1);
    }, WORKER_SHUTDOWN_DEADLINE_MS).unref();
    void gw.close().then(() => services.close()).then(() => process.exit(0), (err: unknown) => {
      services.log.error({ err }, 'gateway worker shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', () => { /* the primary decides; it sends SIGTERM */ });
  process.on('disconnect', stop);
  process.send?.({ __gatewayReady: true } satisfies ReadyMessage);
}

export const isGatewayWorker = (): boolean => cluster.isWorker;
