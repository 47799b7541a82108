import { createServer, type Server } from 'node:http';
import type { Services } from '../core/services.ts';
import { createApp, type AppOptions } from './app.ts';
import { attachWatchSocket } from './ws/watchSocket.ts';
import { limitConnections } from './connectionLimits.ts';
import { FileSessions } from '../gateway/webFiles/fileSessions.ts';
import { webPipeline } from '../gateway/webFiles/webPipeline.ts';

export interface HttpHandle {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function startHttp(services: Services, opts: AppOptions & { port?: number; host?: string } = {}): Promise<HttpHandle> {
  // The channel pipeline's home in this process (live sessions, their watchdog) for the web file manager.
  const pipeline = webPipeline(services);
  const files = new FileSessions(pipeline.gw);
  const app = createApp(services, { ...opts, files });
  // Header and request timeouts are checked this often (Node's default is every 30 s).
  const server = createServer({ connectionsCheckingInterval: 1000 }, app);
  limitConnections(server, services.config, services.log.child({ component: 'http' }));
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
    close: async () => {
      detachWatch();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await files.closeAll('the server is shutting down');
      await pipeline.close('the server is shutting down');
      server.closeAllConnections();
      await stopped;
    },
  };
}
