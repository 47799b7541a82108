import { createServer, type Server } from 'node:http';
import type { Services } from '../core/services.ts';
import { createApp, type AppOptions } from './app.ts';
import { attachWatchSocket } from './ws/watchSocket.ts';

export interface HttpHandle {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function startHttp(services: Services, opts: AppOptions & { port?: number; host?: string } = {}): Promise<HttpHandle> {
  const app = createApp(services, opts);
  const server = createServer(app);
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  const detachWatch = attachWatchSocket(server, services);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? services.config.httpPort, opts.host ?? services.config.bind, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    server,
    port,
    close: () => new Promise<void>((resolve) => {
      detachWatch();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
