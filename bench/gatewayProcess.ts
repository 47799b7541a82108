/**
 * The SSH gateway alone in its own process, for bench/gateway.ts: its CPU, event loop
 * and RSS are then its own, not the benchmark driver's. Configuration comes from the
 * environment the driver sets (BASTION_DATA_DIR of a seeded database); with
 * BASTION_GATEWAY_WORKERS > 0 it runs the product's worker processes (node:cluster), as
 * `bastion gateway` does. Speaks over IPC: sends `{ port }` when listening; answers
 * 'memory' with process.memoryUsage() (after a GC when --expose-gc is on); 'stop' closes
 * the gateway and exits.
 */
import { loadConfig } from '../core/config.ts';
import { ClusterBus } from '../core/bus.ts';
import { createServices } from '../core/services.ts';
import { startGateway } from '../gateway/index.ts';
import { isGatewayWorker, runGatewayWorker, startGatewayWorkers } from '../bin/gatewayCluster.ts';
import { startLoopStats } from './loopStats.ts';

const config = loadConfig();
// Started before the gateway, so its start-up is in the figures too (max, GC counts).
const loopStats = process.env.BENCH_GATEWAY_LOOP_STATS === '1' ? startLoopStats() : null;

if (isGatewayWorker()) {
  await runGatewayWorker(config);
} else {
  const bus = config.gatewayWorkers > 0 ? new ClusterBus() : undefined;
  const services = await createServices(config, bus ? { bus } : {});
  const gateway = bus
    ? await startGatewayWorkers(config, config.gatewayWorkers, bus, (line: string) => process.stderr.write(`${line}\n`))
    : await startGateway(services, { port: 0, host: '127.0.0.1' });
  const stop = (): void => {
    if (loopStats) process.stderr.write(`  … gateway process: ${loopStats()}\n`);
    const close = 'close' in gateway ? gateway.close : gateway.stop;
    void close().then(() => services.close()).finally(() => process.exit(0));
  };
  process.send?.({ port: gateway.port });
  process.on('message', (message: unknown) => {
    if (message === 'memory') {
      (globalThis as { gc?: () => void }).gc?.();
      process.send?.({ memory: process.memoryUsage() });
    } else if (message === 'stop') {
      stop();
    }
  });
  process.on('disconnect', stop);
}
