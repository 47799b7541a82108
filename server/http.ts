import { createServer, type Server } from 'node:http';
import type { Services } from '../core/services.ts';
import { createApp, type AppOptions } from './app.ts';
import { watchSocket } from './ws/watchSocket.ts';
import { terminalSocket } from './ws/terminalSocket.ts';
import { routeUpgrades } from './ws/socketAuthority.ts';
import { openSessionHost } from '../gateway/sessionHost.ts';
import { limitConnections } from './connectionLimits.ts';
import { FileSessions } from '../gateway/webFiles/fileSessions.ts';

export interface HttpHandle {
  server: Server;
  port: number;
  /** The web file manager's sessions (and their per-user upload budget). */
  files: FileSessions;
  close(): Promise<void>;
}

export async function startHttp(services: Services, opts: AppOptions & { port?: number; host?: string } = {}): Promise<HttpHandle> {
  // The channel pipeline's home in this process (gateway/sessionHost.ts): the web file manager's
  // and the web terminal's live sessions, with a registry that hears terminate, revocation and
  // access changes over the bus like a gateway's, whatever runs where.
  const host = openSessionHost(services, services.log.child({ component: 'web-sessions' }));
  const files = new FileSessions(host.gw);
  const app = createApp(services, { ...opts, files });
  // Header and request timeouts are checked this often (Node's default is every 30 s).
  const server = createServer({ connectionsCheckingInterval: 1000 }, app);
  limitConnections(server, services.config, services.log.child({ component: 'http' }));
  const detachSockets = routeUpgrades(server, [watchSocket(services), terminalSocket(services, host)]);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? services.config.httpPort, opts.host ?? services.config.bind, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    server,
    port,
    files,
    close: async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // Web sessions first, so that their recordings are flushed and rows ended while browsers still hear why.
      await files.closeAll('the server is shutting down');
      await host.close('the server is shutting down');
      detachSockets();
      server.closeAllConnections();
      await stopped;
    },
  };
}
