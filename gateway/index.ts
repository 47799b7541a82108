// The SSH gateway (DESIGN "SSH gateway"): an ssh2 server whose connections go through the
// pipeline authenticate → resolve target → authorize → connect backend → wire the channel.
import { createServer, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { Services } from '../core/services.ts';
import type { GatewayOptions, SshGatewayContext } from './context.ts';
import { gatewayOptions } from './sessionHost.ts';
import { loadHostKeys, serverHostKeys } from './hostKeys.ts';
import { SERVER_ALGORITHMS } from './algorithms.ts';
import { offerForClient } from './clientOffer.ts';
import { RandomPool, pooledPadding } from './packetPadding.ts';
import { SessionRegistry } from './sessionRegistry.ts';
import { handleConnection, type TrackedConnection } from './connection.ts';
import { ReadTurns } from './fairReads.ts';
import { GarbagePacer } from './garbagePacer.ts';
import { SpareReadBuffers } from './sftp/readBuffers.ts';
import { HashThread } from './recording/hashThread.ts';
import { PreAuthGate } from './preAuth.ts';
import { relaySocket } from './relaySocket.ts';

export interface GatewayStartOptions extends Partial<GatewayOptions> {
  /** 0 picks a free port. Default: config.sshPort. */
  port?: number;
  /** Default: config.bind. */
  host?: string;
  /** Default: config.loginGraceSeconds. */
  loginGraceMs?: number;
  /**
   * Gateway processes on this host that share its start-up limits (BASTION_MAX_STARTUPS and
   * _PER_SOURCE): each worker holds its share, so that the host holds no more than configured.
   * Default 1 (this process alone).
   */
  startupShares?: number;
  /** Where packet padding comes from (packetPadding.ts). Default: a pool of this gateway's own. */
  padding?: RandomPool;
  /**
   * false: no port of its own; connections come through `accept` (a gateway worker, handed them
   * by its primary: bin/connectionHandoff.ts). Default true.
   */
  listen?: boolean;
}

export interface GatewayHandle {
  /** The port it listens on; 0 when it does not listen (`listen: false`). */
  port: number;
  /** Serves a connection accepted elsewhere; false once the gateway is closing (the socket is then the caller's). */
  accept(sock: Socket): boolean;
  /** False once the gateway is closing: `accept` would refuse. */
  readonly accepting: boolean;
  close(): Promise<void>;
}

export async function startGateway(services: Services, opts: GatewayStartOptions = {}): Promise<GatewayHandle> {
  const { config } = services;
  const log = services.log.child({ component: 'gateway' });
  const options = gatewayOptions(services, opts);
  const sessions = new SessionRegistry(services, options, log);
  const shares = Math.max(1, opts.startupShares ?? 1);
  const preAuth = new PreAuthGate({
    graceMs: opts.loginGraceMs ?? config.loginGraceSeconds * 1000,
    maxTotal: Math.max(1, Math.floor(config.maxStartups / shares)),
    maxPerSource: Math.max(1, Math.floor(config.maxStartupsPerSource / shares)),
  }, log);
  const gw: SshGatewayContext = { services, log, options, sessions, preAuth, readTurns: new ReadTurns(), garbage: new GarbagePacer(), spareReadBuffers: new SpareReadBuffers(), hashing: new HashThread(), padding: opts.padding ?? new RandomPool() };
  const hostKeys = loadHostKeys(config.dataDir);
  const connections = new Set<TrackedConnection>();

  const server = new ssh2.Server({
    hostKeys: serverHostKeys(hostKeys).map((key) => ({ key })),
    algorithms: SERVER_ALGORITHMS,
    ident: 'Bastion',
    // Dead clients (network gone) are noticed within a minute and their sessions end.
    keepaliveInterval: 15_000,
    keepaliveCountMax: 4,
  }, (client, info) => {
    // Before ssh2 sends its KEXINIT, which follows this callback.
    offerForClient(client, info.header);
    pooledPadding(client, gw.padding);
    const tracked = handleConnection(gw, client, info);
    connections.add(tracked);
    void tracked.closed.then(() => connections.delete(tracked));
  });
  // The gateway accepts the TCP connections itself and hands them to ssh2 (injectSocket), so
  // that each socket's reads take turns with the other sessions' (fairReads.ts).
  let closing: Promise<void> | null = null;
  const accept = (sock: Socket): boolean => {
    if (closing) return false;
    if (!preAuth.admit(sock)) return true;
    relaySocket(gw, sock, 'operator');
    server.injectSocket(sock);
    return true;
  };
  const listener = createServer((sock) => {
    accept(sock);
  });
  listener.on('error', (err: Error) => log.error({ err }, 'gateway server error'));

  const listening = opts.listen ?? true;
  const host = opts.host ?? config.bind;
  if (listening) {
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(opts.port ?? config.sshPort, host, () => {
        listener.off('error', reject);
        resolve();
      });
    });
  }
  const address = listener.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  sessions.start();
  const notReady = services.readiness.add('gateway', async () => {
    if (listening && !listener.listening) throw new Error('the SSH gateway is not listening');
  });
  if (listening) log.info({ host, port, hostKeys: hostKeys.map((k) => `${k.type} ${k.fingerprint}`) }, 'ssh gateway listening');
  else log.info({ hostKeys: hostKeys.map((k) => `${k.type} ${k.fingerprint}`) }, 'ssh gateway taking connections from its primary');

  const shutdown = async (): Promise<void> => {
    // A shutdown that takes this long is stuck somewhere: the log says where, before a deadline
    // (bin/shutdownDeadlines.ts) ends the process.
    let stage = 'ending sessions';
    const slow = setTimeout(() => log.warn({ stage, sessions: sessions.size, connections: connections.size }, 'ssh gateway shutdown is slow'), 4000);
    slow.unref();
    notReady();
    const stopped = listening ? new Promise<void>((resolve) => listener.close(() => resolve())) : Promise.resolve();
    sessions.stop();
    preAuth.close();
    // Sessions first, so recordings are flushed and rows ended while clients still hear why.
    await sessions.closeAll('the gateway is shutting down');
    stage = 'closing connections';
    for (const c of connections) c.end();
    await withTimeout(Promise.all([...connections].map((c) => c.closed)), 5000);
    await withTimeout(stopped, 1000);
    // After the sessions: their transfer records have their digests by now.
    stage = 'finishing transfer digests';
    await gw.hashing.close();
    clearTimeout(slow);
    log.info('ssh gateway stopped');
  };
  return {
    port,
    accept,
    get accepting() {
      return closing === null;
    },
    close: () => {
      closing ??= shutdown();
      return closing;
    },
  };
}

function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    void p.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
