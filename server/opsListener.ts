import { createServer, type Server } from 'node:http';
import express from 'express';
import type { Services } from '../core/services.ts';
import { NotFoundError } from '../core/errors.ts';
import { errorHandler } from './middleware/errors.ts';
import { healthRoutes } from './routes/health.ts';

export interface OpsListener {
  port: number;
  close(): Promise<void>;
}

/**
 * BASTION_METRICS_PORT: /metrics, /healthz and /readyz on a listener of their own, bound to
 * BASTION_METRICS_BIND (loopback by default), with no token: the address is the protection.
 * Every face can have one, so a `gateway`-only process is probed and scraped too.
 */
export async function startOpsListener(services: Services, opts: { port?: number; host?: string } = {}): Promise<OpsListener> {
  const app = express();
  app.disable('x-powered-by');
  app.use(healthRoutes(services, { metricsNeedToken: false }));
  app.use(() => { throw new NotFoundError('no such endpoint', { reason: 'no_such_endpoint' }); });
  app.use(errorHandler(services.log));
  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? services.config.metricsPort, opts.host ?? services.config.metricsBind, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
