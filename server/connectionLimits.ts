// Bounds on what one source address can hold open on the HTTP port (DESIGN rule 13): slow
// headers and slow requests are cut off by Node's own timers, and one source may keep only
// so many connections open at once. Trusted proxies are exempt: every client arrives through
// them, and their own limits apply in front.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { trustCheck } from './middleware/clientAddress.ts';

export function limitConnections(server: Server, config: Config, log: Logger): void {
  server.headersTimeout = config.httpHeadersTimeoutSeconds * 1000;
  server.requestTimeout = config.httpRequestTimeoutSeconds * 1000;
  const cap = config.httpMaxConnectionsPerSource;
  if (cap === 0) return;
  const trusted = trustCheck(config.trustProxy);
  const open = new Map<string, number>();
  let lastLog = 0;
  server.on('connection', (sock: Socket) => {
    const source = sock.remoteAddress ?? '?';
    if (trusted(source)) return;
    const n = open.get(source) ?? 0;
    if (n >= cap) {
      const now = Date.now();
      if (now - lastLog > 1000) {
        lastLog = now;
        log.warn({ client: source, cap }, 'too many open HTTP connections from one source; connection refused');
      }
      sock.destroy();
      return;
    }
    open.set(source, n + 1);
    sock.once('close', () => {
      const left = (open.get(source) ?? 1) - 1;
      if (left <= 0) open.delete(source);
      else open.set(source, left);
    });
  });
}
