/**
 * The SSH gateway alone in its own process, for bench/gateway.ts: its CPU, event loop
 * and RSS are then its own, not the benchmark driver's. Configuration comes from the
 * environment the driver sets (BASTION_DATA_DIR of a seeded database). Speaks over IPC:
 * sends `{ port }` when listening; answers 'memory' with process.memoryUsage() (after a
 * GC when --expose-gc is on); 'stop' closes the gateway and exits.
 */
import { loadConfig } from '../core/config.ts';
import { createServices } from '../core/services.ts';
import { startGateway } from '../gateway/index.ts';

const services = await createServices(loadConfig());
const gateway = await startGateway(services, { port: 0, host: '127.0.0.1' });
process.send?.({ port: gateway.port });

process.on('message', (message: unknown) => {
  if (message === 'memory') {
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ memory: process.memoryUsage() });
  } else if (message === 'stop') {
    void gateway.close().then(() => services.close()).finally(() => process.exit(0));
  }
});
process.on('disconnect', () => {
  void gateway.close().then(() => services.close()).finally(() => process.exit(0));
});
