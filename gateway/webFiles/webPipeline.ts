// The channel pipeline's home in the HTTP process: a registry of live sessions with its watchdog
// (rule 11, idle, heartbeat, terminate and revocation over the bus), so that web sessions live in
// the process that serves them and the bus reaches them there, in every topology.
import type { Services } from '../../core/services.ts';
import type { GatewayContext } from '../context.ts';
import { SessionRegistry } from '../sessionRegistry.ts';
import { ReadTurns } from '../fairReads.ts';

export interface WebPipeline {
  gw: GatewayContext;
  close(reason: string): Promise<void>;
}

export function webPipeline(services: Services): WebPipeline {
  const { config } = services;
  const log = services.log.child({ component: 'web-sessions' });
  const options = {
    accessCheckMs: 20_000,
    idleTimeoutMs: config.idleTimeoutMinutes * 60_000,
    idleTimeoutExecMs: config.idleTimeoutExecMinutes * 60_000,
    backendReadyTimeoutMs: config.backendTimeoutSeconds * 1000,
  };
  const sessions = new SessionRegistry(services, options, log);
  sessions.start();
  // Backend sockets of web sessions take turns with each other as the gateway's do.
  const pipeline: Omit<GatewayContext, 'preAuth'> = { services, log, options, sessions, readTurns: new ReadTurns() };
  // The SSH listener's pre-auth gate has no meaning here (the HTTP server authenticates), and the pipeline never reads it.
  const gw = pipeline as GatewayContext;
  let closing: Promise<void> | null = null;
  return {
    gw,
    close: (reason) => {
      closing ??= (async () => {
        sessions.stop();
        await sessions.closeAll(reason);
      })();
      return closing;
    },
  };
}
