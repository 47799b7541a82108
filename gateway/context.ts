// What every step of the gateway pipeline is handed: the core services, the logger and
// the registry of live sessions. Built once per startGateway() and once per web-terminal host.
import type { Services } from '../core/services.ts';
import type { Logger } from '../core/logger.ts';
import type { RefusalLog } from './refusalLog.ts';
import type { SessionChannel, User } from '../core/db/entities/index.ts';
import type { Connection } from 'ssh2';
import type { LoginTarget } from './targetSyntax.ts';
import type { SessionRegistry } from './sessionRegistry.ts';
import type { PreAuthGate } from './preAuth.ts';
import type { ReadTurns } from './fairReads.ts';
import type { GarbagePacer } from './garbagePacer.ts';
import type { RandomPool } from './packetPadding.ts';
import type { SpareReadBuffers } from './sftp/readBuffers.ts';
import type { HashThread } from './recording/hashThread.ts';
import type { SftpProxyStats } from './sftp/sftpProxy.ts';
import type { BridgeProbe } from './proxy/bridge.ts';
import type { RelaySocketKind } from './relaySocket.ts';
import type { LiveSession } from './liveSession.ts';

export interface GatewayOptions {
  /** How often every live session re-asks core/access whether it still holds (rule 11). */
  accessCheckMs: number;
  /** Idle time (no input and no output) after which a session with a terminal (PTY) is ended; 0 = never. */
  idleTimeoutMs: number;
  /** The same for sessions without a terminal: exec, SFTP, tunnels; 0 (the default) = never, a quiet backup is not idle. */
  idleTimeoutExecMs: number;
  /** How long a backend may take to connect and log in. */
  backendReadyTimeoutMs: number;
  /** Told what each SFTP session's proxy held at its peak when it ends (benches and tests bound it). */
  onSftpEnd?: (stats: SftpProxyStats) => void;
  /** Given a look at what each shell or exec session holds of the operator's input while it runs (tests bound it). */
  onBridge?: (probe: BridgeProbe) => void;
  /** Told of each socket put under the read turns, pacing and batching (relaySocket.ts), by kind (tests check no path is left out). */
  onRelaySocket?: (kind: RelaySocketKind) => void;
}

/**
 * What the channel pipeline needs, whichever face drives it: the SSH gateway, or the web
 * terminal in the HTTP process (gateway/sessionHost.ts).
 */
export interface GatewayContext {
  services: Services;
  log: Logger;
  options: GatewayOptions;
  sessions: SessionRegistry;
  /** Every socket's reads (operators' and backends'), so that bulk ones take turns and keystrokes go first. */
  readTurns: ReadTurns;
  /** Counts the bytes every socket delivers and has V8 free dead Buffers at a steady pace (garbagePacer.ts). */
  garbage: GarbagePacer;
  /** The SHA-256 of exec transfer records, on a thread of its own (recording/hashThread.ts). */
  hashing: HashThread;
  /** SFTP read buffers of ended sessions, zeroed, for the next ones (sftp/readBuffers.ts). */
  spareReadBuffers: SpareReadBuffers;
  /** Random bytes for the padding of the packets sent to operators and to assets (packetPadding.ts). */
  padding: RandomPool;
}

/** The SSH face's context: the pipeline's, plus what only an SSH listener has. */
export interface SshGatewayContext extends GatewayContext {
  /** Unauthenticated connections: grace time and start-up limits. */
  preAuth: PreAuthGate;
}

/** An authenticated operator, on an SSH connection or a web terminal socket. */
export interface Operator {
  user: User;
  target: LoginTarget;
  /** The socket's peer (rule 4): the SSH client, or the browser (as the HTTP server sees it). */
  clientAddress: string;
  /** Which face the operator came through; stored on the Session row as its `channel`. */
  face: SessionChannel;
  log: Logger;
  /** The face hears of each audited session it carries (the web terminal tells the browser its id and why it ended). */
  onSession?: (live: LiveSession) => void;
}

/** An authenticated operator on one SSH connection. */
export interface SshOperator extends Operator {
  face: 'ssh';
  connection: Connection;
  /** Refusals on this connection: the first of each kind logged, the rest counted (refusalLog.ts). */
  refusals: RefusalLog;
}
