// The channel pipeline's home in a process: the options, the registry of live sessions and its
// watchdog (rule 11, idle, heartbeat, terminate and revocation over the bus). The SSH gateway
// has one; the HTTP server has one for the web terminal, so that web sessions live in the
// process that holds their websocket and the bus reaches them there, in every topology.
import type { Services } from '../core/services.ts';
import type { Logger } from '../core/logger.ts';
import type { GatewayContext, GatewayOptions } from './context.ts';
import { SessionRegistry } from './sessionRegistry.ts';
import { GarbagePacer } from './garbagePacer.ts';
import { RandomPool } from './packetPadding.ts';
import { SpareReadBuffers } from './sftp/readBuffers.ts';
import { HashThread } from './recording/hashThread.ts';
import { ReadTurns } from './fairReads.ts';

/** The pipeline's options from the config, with a caller's (a test's) overrides. */
export function gatewayOptions(services: Services, overrides: Partial<GatewayOptions> = {}): GatewayOptions {
  const { config } = services;
  return {
    accessCheckMs: overrides.accessCheckMs ?? 20_000,
    idleTimeoutMs: overrides.idleTimeoutMs ?? config.idleTimeoutMinutes * 60_000,
    idleTimeoutExecMs: overrides.idleTimeoutExecMs ?? config.idleTimeoutExecMinutes * 60_000,
    backendReadyTimeoutMs: overrides.backendReadyTimeoutMs ?? config.backendTimeoutSeconds * 1000,
    ...(overrides.onSftpEnd ? { onSftpEnd: overrides.onSftpEnd } : {}),
    ...(overrides.onBridge ? { onBridge: overrides.onBridge } : {}),
    ...(overrides.onRelaySocket ? { onRelaySocket: overrides.onRelaySocket } : {}),
  };
}

export interface SessionHost {
  gw: GatewayContext;
  /** Every live session is told `reason`, ended and flushed; the watchdog stops. */
  close(reason: string): Promise<void>;
}

/** A registry of live sessions with its watchdog running, for a face other than the SSH listener. */
export function openSessionHost(services: Services, log: Logger, overrides: Partial<GatewayOptions> = {}): SessionHost {
  const options = gatewayOptions(services, overrides);
  const sessions = new SessionRegistry(services, options, log);
  sessions.start();
  let closing: Promise<void> | null = null;
  const hashing = new HashThread();
  return {
    gw: { services, log, options, sessions, readTurns: new ReadTurns(), garbage: new GarbagePacer(), spareReadBuffers: new SpareReadBuffers(), hashing, padding: new RandomPool() },
    close: (reason) => {
      closing ??= (async () => {
        sessions.stop();
        await sessions.closeAll(reason);
        await hashing.close();
      })();
      return closing;
    },
  };
}
