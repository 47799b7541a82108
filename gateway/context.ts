// What every step of the gateway pipeline is handed: the core services, the logger and
// the registry of live sessions. Built once per startGateway().
import type { Services } from '../core/services.ts';
import type { Logger } from '../core/logger.ts';
import type { User } from '../core/db/entities/index.ts';
import type { Connection } from 'ssh2';
import type { LoginTarget } from './targetSyntax.ts';
import type { SessionRegistry } from './sessionRegistry.ts';
import type { PreAuthGate } from './preAuth.ts';
import type { ReadTurns } from './fairReads.ts';
import type { SftpProxyStats } from './sftp/sftpProxy.ts';

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
}

export interface GatewayContext {
  services: Services;
  log: Logger;
  options: GatewayOptions;
  sessions: SessionRegistry;
  /** Unauthenticated connections: grace time and start-up limits. */
  preAuth: PreAuthGate;
  /** Every socket's reads (operators' and backends'), so that bulk ones take turns and keystrokes go first. */
  readTurns: ReadTurns;
}

/** An authenticated operator on one SSH connection. */
export interface Operator {
  user: User;
  target: LoginTarget;
  clientAddress: string;
  connection: Connection;
  log: Logger;
}
