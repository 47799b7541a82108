// Gateway worker processes for tests, as `npm start` runs them (see test/gatewayFixture.ts).
import cluster from 'node:cluster';
import type { Config } from '../../core/config.ts';
import type { ClusterBus } from '../../core/bus.ts';
import type { GatewayHandle } from '../../gateway/index.ts';
import { startGatewayWorkers, type WorkerHooks } from '../../bin/gatewayCluster.ts';
import { freePort } from './ports.ts';
import { within } from './within.ts';
import { ensureProductBuilt, PRODUCT_ENTRY } from './productCommand.ts';

/** Gateway worker processes in the workers topology: two, one more than `auto` on a 2-core host, so that sessions and the checks on them cross worker processes. */
export const GATEWAY_WORKERS = 2;

/** How long gateway workers may take to start (on a loaded machine). */
const WORKERS_READY_MS = 120_000;

/**
 * Gateway worker processes with this test process as their node:cluster primary, started by
 * the product's own startGatewayWorkers, as `bastion start` does: they read `env` (the
 * environment `config` came from), share its data dir, and hear this process over `bus`, the
 * bus its services were created with. A worker that exits before close() (a crash, which the
 * primary answers with a new worker) makes close() fail: no input may crash a process.
 */
/** Workers a test killed on purpose (to see them replaced): their exit is not a crash. */
export const killedOnPurpose = new Set<number>();

export async function startWorkerGateway(config: Config, configEnv: Record<string, string>, bus: ClusterBus, hooks: WorkerHooks = {}): Promise<GatewayHandle> {
  // The primary is this test file's process (the sources, through tsx); the workers run the
  // compiled bin as under `npm start` (startGatewayWorkers adds the memory flags).
  ensureProductBuilt();
  cluster.setupPrimary({ exec: PRODUCT_ENTRY, execArgv: [], args: ['start'] });
  // A port of our own: workers listening on port 0 would share one handle with any other world's workers.
  const port = await freePort();
  const said: string[] = [];
  const env = { ...configEnv, BASTION_SSH_PORT: String(port) };
  let handle: Awaited<ReturnType<typeof startGatewayWorkers>>;
  try {
    handle = await within(startGatewayWorkers({ ...config, sshPort: port }, GATEWAY_WORKERS, bus, (line) => said.push(line), env, hooks), WORKERS_READY_MS, () => `gateway workers did not start: ${said.join('; ')}`);
  } catch (err) {
    // The primary restarts workers that die: end those running and any it starts from now on.
    cluster.on('fork', (w) => w.process.kill('SIGKILL'));
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    throw err;
  }
  if (handle.port !== port) throw new Error(`gateway workers listen on ${handle.port}, not ${port}`);
  return {
    port,
    // Connections come to the port, through the primary (this process) to the workers.
    accept: () => false,
    accepting: false,
    async close() {
      await handle.stop();
      // What the primary says of a worker a test froze, starved or killed is that test's doing.
      const crashes = said.filter((line) => ![...killedOnPurpose].some((pid) => line.startsWith(`gateway worker ${pid} `)));
      if (crashes.length > 0) throw new Error(`a gateway worker exited before the gateway was closed: ${crashes.join('; ')}`);
    },
  };
}
