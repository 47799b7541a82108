import { EntitySchema } from 'typeorm';
import { col } from '../columns.ts';

export type SessionKind = 'shell' | 'exec' | 'sftp' | 'tunnel';
/** Which face the operator came through: the SSH gateway, or the web terminal (browser). */
export type SessionChannel = 'ssh' | 'web';
export type SessionStatus = 'active' | 'closed' | 'terminated' | 'failed' | 'interrupted';

export interface Session {
  id: string;
  userId: string;
  username: string;
  assetId: string;
  assetName: string;
  systemUserId: string | null;
  systemUsername: string;
  kind: SessionKind;
  channel: SessionChannel;
  clientAddress: string;
  startedAt: Date;
  endedAt: Date | null;
  status: SessionStatus;
  recording: string | null; // path relative to the recordings dir, derived from the UUID only
  bytesIn: number;
  bytesOut: number;
  exitStatus: number | null;
  exitSignal: string | null;
  terminatedBy: string | null;
  endReason: string | null;
  /** Last time the gateway holding the session said it is still there (see SessionService.heartbeat). */
  heartbeatAt: Date | null;
  /** The recording does not hold the whole session (it failed, or reached its size limit and was truncated). */
  recordingIncomplete: boolean;
}

export interface CommandRecord {
  id: string;
  sessionId: string;
  userId: string;
  username: string;
  assetId: string;
  assetName: string;
  systemUsername: string;
  input: string;
  output: string;
  risk: 'normal' | 'warning' | 'denied';
  /** The line ran with the terminal's echo off: `input` gives only its length. */
  notEchoed: boolean;
  offsetMs: number; // time since session start, to seek the recording
  createdAt: Date;
}

export interface LoginLog {
  id: string;
  username: string;
  userId: string | null;
  clientAddress: string;
  channel: 'web' | 'ssh' | 'api';
  method: string;
  ok: boolean;
  reason: string;
  createdAt: Date;
}

export interface OperationLog {
  id: string;
  actorId: string | null;
  actorUsername: string;
  action: string;
  resourceType: string;
  resourceId: string | null;
  resourceName: string;
  changes: Record<string, unknown>;
  clientAddress: string;
  createdAt: Date;
}

export interface FileTransfer {
  id: string;
  sessionId: string;
  userId: string;
  username: string;
  assetId: string;
  assetName: string;
  systemUsername: string;
  operation: 'upload' | 'download' | 'delete' | 'rename' | 'mkdir' | 'rmdir' | 'setstat' | 'symlink' | 'hardlink' | 'copy';
  path: string;
  targetPath: string | null;
  size: number;
  ok: boolean;
  message: string;
  createdAt: Date;
}

import type { JobKind, JobOutcome, JobStatus } from '../../ops/jobOutcomes.ts';
export type { JobKind, JobOutcome, JobStatus };

export interface JobResult {
  asset: string;
  assetName: string;
  ok: boolean;
  exitCode: number | null;
  output: string;
  outcome?: JobOutcome;
  /** Still running on this asset: `output` is what it printed so far. */
  running?: boolean;
}

/** A command kept under a name, with its system user and default targets, that operators run where granted. */
export interface SavedCommand {
  id: string;
  name: string;
  command: string;
  systemUserId: string;
  assetIds: string[];
  nodeIds: string[];
  timeoutSeconds: number;
  comment: string;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * The decision on one command held by a `confirm` filter, claimed once in the database so that an
 * approval and a rejection sent to two processes cannot both win: `pending` until an admin decides
 * or its holder withdraws it (time out, cancel); the row lives as long as its holder waits.
 */
export interface CommandConfirmationClaim {
  id: string;
  status: 'pending' | 'approved' | 'rejected' | 'withdrawn';
  decidedBy: string | null;
  expiresAt: Date;
}

export interface Job {
  id: string;
  kind: JobKind;
  status: JobStatus;
  params: Record<string, unknown>;
  results: JobResult[];
  log: string;
  createdBy: string | null;
  createdAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
  /** Marked by the process running the job while it runs: a queued or running job left unmarked has lost its process. */
  heartbeatAt?: Date | null;
}

export const SessionEntity = new EntitySchema<Session>({
  name: 'Session',
  tableName: 'session',
  columns: {
    id: col.id(),
    userId: { ...col.ref(), name: 'user_id' },
    username: col.str(64),
    assetId: { ...col.ref(), name: 'asset_id' },
    assetName: { ...col.str(128), name: 'asset_name' },
    systemUserId: { ...col.ref(true), name: 'system_user_id' },
    systemUsername: { ...col.str(64), name: 'system_username' },
    kind: col.str(16),
    channel: { ...col.str(8), default: 'ssh' },
    clientAddress: { ...col.str(64), name: 'client_address' },
    startedAt: { ...col.time(), name: 'started_at' },
    endedAt: { ...col.time(true), name: 'ended_at' },
    status: col.str(16),
    recording: col.str(255, true),
    bytesIn: { ...col.big(), name: 'bytes_in', default: 0 },
    bytesOut: { ...col.big(), name: 'bytes_out', default: 0 },
    exitStatus: { ...col.int(undefined, true), name: 'exit_status' },
    exitSignal: { ...col.str(32, true), name: 'exit_signal' },
    terminatedBy: { ...col.str(64, true), name: 'terminated_by' },
    endReason: { ...col.text(true), name: 'end_reason' },
    heartbeatAt: { ...col.time(true), name: 'heartbeat_at' },
    recordingIncomplete: { ...col.bool(false), name: 'recording_incomplete' },
  },
});

export const CommandEntity = new EntitySchema<CommandRecord>({
  name: 'Command',
  tableName: 'command',
  columns: {
    id: col.id(),
    sessionId: { ...col.ref(), name: 'session_id' },
    userId: { ...col.ref(), name: 'user_id' },
    username: col.str(64),
    assetId: { ...col.ref(), name: 'asset_id' },
    assetName: { ...col.str(128), name: 'asset_name' },
    systemUsername: { ...col.str(64), name: 'system_username' },
    input: col.text(),
    output: col.text(),
    risk: col.str(16),
    notEchoed: { ...col.bool(false), name: 'not_echoed' },
    offsetMs: { ...col.big(), name: 'offset_ms' },
    createdAt: { ...col.time(), name: 'created_at' },
  },
});

export const LoginLogEntity = new EntitySchema<LoginLog>({
  name: 'LoginLog',
  tableName: 'login_log',
  columns: {
    id: col.id(),
    username: col.str(128),
    userId: { ...col.ref(true), name: 'user_id' },
    clientAddress: { ...col.str(64), name: 'client_address' },
    channel: col.str(8),
    method: col.str(32),
    ok: col.bool(false),
    reason: col.text(),
    createdAt: { ...col.time(), name: 'created_at' },
  },
});

export const OperationLogEntity = new EntitySchema<OperationLog>({
  name: 'OperationLog',
  tableName: 'operation_log',
  columns: {
    id: col.id(),
    actorId: { ...col.ref(true), name: 'actor_id' },
    actorUsername: { ...col.str(64), name: 'actor_username' },
    action: col.str(32),
    resourceType: { ...col.str(32), name: 'resource_type' },
    resourceId: { ...col.ref(true), name: 'resource_id' },
    resourceName: { ...col.str(255), name: 'resource_name' },
    changes: col.json(),
    clientAddress: { ...col.str(64), name: 'client_address' },
    createdAt: { ...col.time(), name: 'created_at' },
  },
});

export const FileTransferEntity = new EntitySchema<FileTransfer>({
  name: 'FileTransfer',
  tableName: 'file_transfer',
  columns: {
    id: col.id(),
    sessionId: { ...col.ref(), name: 'session_id' },
    userId: { ...col.ref(), name: 'user_id' },
    username: col.str(64),
    assetId: { ...col.ref(), name: 'asset_id' },
    assetName: { ...col.str(128), name: 'asset_name' },
    systemUsername: { ...col.str(64), name: 'system_username' },
    operation: col.str(16),
    path: col.text(),
    targetPath: { ...col.text(true), name: 'target_path' },
    size: { ...col.big(), default: 0 },
    ok: col.bool(false),
    message: col.text(),
    createdAt: { ...col.time(), name: 'created_at' },
  },
});

export const JobEntity = new EntitySchema<Job>({
  name: 'Job',
  tableName: 'job',
  columns: {
    id: col.id(),
    kind: col.str(16),
    status: col.str(16),
    params: col.json(),
    results: col.json(),
    log: col.text(),
    createdBy: { ...col.ref(true), name: 'created_by' },
    createdAt: { ...col.time(), name: 'created_at' },
    startedAt: { ...col.time(true), name: 'started_at' },
    endedAt: { ...col.time(true), name: 'ended_at' },
    heartbeatAt: { ...col.time(true), name: 'heartbeat_at' },
  },
});

export const SavedCommandEntity = new EntitySchema<SavedCommand>({
  name: 'SavedCommand',
  tableName: 'saved_command',
  columns: {
    id: col.id(),
    name: col.str(128),
    command: col.text(),
    systemUserId: { ...col.ref(), name: 'system_user_id' },
    assetIds: { ...col.json(), name: 'asset_ids' },
    nodeIds: { ...col.json(), name: 'node_ids' },
    timeoutSeconds: { ...col.int(60), name: 'timeout_seconds' },
    comment: col.text(),
    createdBy: { ...col.ref(true), name: 'created_by' },
    createdAt: { ...col.time(), name: 'created_at' },
    updatedAt: { ...col.time(), name: 'updated_at' },
  },
});

export const CommandConfirmationEntity = new EntitySchema<CommandConfirmationClaim>({
  name: 'CommandConfirmation',
  tableName: 'command_confirmation',
  columns: {
    id: col.id(),
    status: col.str(16),
    decidedBy: { ...col.str(64, true), name: 'decided_by' },
    expiresAt: { ...col.time(), name: 'expires_at' },
  },
});

/**
 * One logged-in SSH connection, held by the gateway process that serves it from login to close
 * (BASTION_MAX_CONNECTIONS_PER_USER counts them across processes; core/audit/sshConnections.ts).
 */
export interface SshConnectionLease {
  id: string;
  userId: string;
  clientAddress: string;
  startedAt: Date;
  /** Marked by the holding process; a row left unmarked for three heartbeat periods has lost it. */
  heartbeatAt: Date;
  /** The holding process, `host/pid` (null in rows from before it was kept). */
  holder: string | null;
}

export const SshConnectionEntity = new EntitySchema<SshConnectionLease>({
  name: 'SshConnection',
  tableName: 'ssh_connection',
  columns: {
    id: col.id(),
    userId: { ...col.ref(), name: 'user_id' },
    clientAddress: { ...col.str(64), name: 'client_address' },
    startedAt: { ...col.time(), name: 'started_at' },
    heartbeatAt: { ...col.time(), name: 'heartbeat_at' },
    holder: col.str(128, true),
  },
});
