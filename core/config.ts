import path from 'node:path';
import { z } from 'zod';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { Secret } from './vault/secret.ts';

const port = z.coerce.number().int().min(0).max(65535);
const cidr = z.string().refine((s) => {
  const [addr, bits] = s.split('/');
  if (!addr || isIP(addr) === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return Number.isInteger(n) && n >= 0 && n <= (isIP(addr) === 4 ? 32 : 128);
}, 'must be a comma-separated list of IP addresses or CIDRs');

const envSchema = z.object({
  BASTION_DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^(postgres(ql)?:\/\/|sqlite:)/, 'must start with postgres://, postgresql:// or sqlite:')
    .optional(),
  SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  BASTION_SSH_PORT: port.default(2222),
  BASTION_HTTP_PORT: port.default(8080),
  BASTION_BIND: z.string().refine((s) => isIP(s) !== 0, 'must be an IP address').default('0.0.0.0'),
  BASTION_ADMIN_PASSWORD: z.string().min(1).optional(),
  BASTION_TRUST_PROXY: z.string().default(''),
  BASTION_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BASTION_LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  BASTION_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  BASTION_METRICS_PORT: port.default(0),
  BASTION_METRICS_BIND: z.string().refine((s) => isIP(s) !== 0, 'must be an IP address').default('127.0.0.1'),
  BASTION_SESSION_TTL_MINUTES: z.coerce.number().int().min(1).max(60 * 24 * 30).default(720),
  BASTION_IDLE_TIMEOUT_MINUTES: z.coerce.number().int().min(0).max(60 * 24).default(30),
  BASTION_IDLE_TIMEOUT_EXEC_MINUTES: z.coerce.number().int().min(0).max(60 * 24 * 7).default(0),
  BASTION_WEB_TERMINAL_RECONNECT_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  BASTION_MAX_SESSIONS_PER_USER: z.coerce.number().int().min(0).default(64),
  // At least 1, no 0: OpenSSH's `MaxSessions 0` means "no sessions, forwarding only" and our other
  // limits' 0 means "no limit"; either reading of a 0 here would surprise someone, and a
  // connection's channels are always bounded (DESIGN rule 13). Whoever wants more sets more.
  BASTION_MAX_SESSIONS_PER_CONNECTION: z.coerce.number().int().min(1).max(10_000).default(10),
  BASTION_MAX_TUNNELS_PER_CONNECTION: z.coerce.number().int().min(1).max(10_000).default(64),
  // Logged-in SSH connections per user, in all processes (Teleport's max_connections); 0: no limit.
  // 100: Ansible through ProxyJump opens one bastion connection per host and fork at once.
  // OpenSSH 9.2's UnusedConnectionTimeout: a logged-in connection with no channel this long is closed; 0: never (OpenSSH's default too).
  BASTION_UNUSED_CONNECTION_TIMEOUT_SECONDS: z.coerce.number().int().min(0).max(7 * 24 * 3600).default(0),
  BASTION_MAX_CONNECTIONS_PER_USER: z.coerce.number().int().min(0).max(100_000).default(100),
  BASTION_MAX_API_TOKENS_PER_USER: z.coerce.number().int().min(1).max(10_000).default(20),
  BASTION_MAX_SSH_KEYS_PER_USER: z.coerce.number().int().min(1).max(10_000).default(20),
  BASTION_UPLOAD_IN_FLIGHT_MB_PER_USER: z.coerce.number().int().min(1).max(1024).default(16),
  BASTION_LOCKOUT_THRESHOLD: z.coerce.number().int().min(1).default(5),
  BASTION_LOCKOUT_MINUTES: z.coerce.number().int().min(1).default(15),
  BASTION_GATEWAY_WORKERS: z.union([z.literal('auto'), z.coerce.number().int().min(0).max(64)]).default('auto'),
  BASTION_PUBLIC_HOST: z.string().optional(),
  BASTION_RETENTION_DAYS: z.coerce.number().int().min(0).max(36500).default(180),
  BASTION_RETENTION_MIN_DAYS: z.coerce.number().int().min(1).max(36500).default(30),
  BASTION_CONFIRM_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(3600).default(120),
  BASTION_SESSION_HEARTBEAT_SECONDS: z.coerce.number().int().min(1).max(600).default(30),
  BASTION_CACHE_MAX_AGE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(15),
  BASTION_BACKEND_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(300).default(10),
  BASTION_LOGIN_GRACE_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  BASTION_MAX_STARTUPS: z.coerce.number().int().min(1).max(100_000).default(200),
  BASTION_MAX_STARTUPS_PER_SOURCE: z.coerce.number().int().min(1).max(100_000).default(30),
  BASTION_MAX_AUTH_TRIES: z.coerce.number().int().min(1).max(100).default(10),
  BASTION_HTTP_HEADERS_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(15),
  BASTION_HTTP_REQUEST_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  BASTION_HTTP_MAX_CONNECTIONS_PER_SOURCE: z.coerce.number().int().min(0).max(100_000).default(64),
  BASTION_LOGIN_SLOWDOWN_THRESHOLD: z.coerce.number().int().min(1).default(20),
  BASTION_LOGIN_RATE_PER_MINUTE: z.coerce.number().int().min(0).default(60),
  BASTION_RECORDING_FAILURE: z.enum(['refuse', 'continue']).default('refuse'),
  BASTION_RECORDING_MAX_MB: z.coerce.number().int().min(0).max(1024 * 1024).default(1024),
  BASTION_RECORDING_MAX_ACTION: z.enum(['end', 'truncate']).default('end'),
  BASTION_RECORDING_MIN_FREE_MB: z.coerce.number().int().min(0).max(1024 * 1024 * 1024).default(256),
  BASTION_RECORDINGS_URL: z.string().trim().optional(),
  BASTION_S3_ENDPOINT: z.string().url().optional(),
  BASTION_S3_REGION: z.string().min(1).default('us-east-1'),
  BASTION_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  BASTION_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  BASTION_S3_FORCE_PATH_STYLE: z.enum(['true', 'false', '1', '0']).default('false').transform((v) => v === 'true' || v === '1'),
  BASTION_S3_SSE: z.enum(['none', 'AES256', 'aws:kms']).default('none'),
  BASTION_S3_SSE_KMS_KEY_ID: z.string().min(1).optional(),
  BASTION_S3_PART_MB: z.coerce.number().int().min(5).max(5120).default(8),
  BASTION_EXEC_RECORD_KEEP_KB: z.coerce.number().int().min(1).max(64 * 1024).default(64),
  BASTION_EXEC_STDIN_SHELL: z.enum(['refuse', 'allow']).default('refuse'),
});

export type Database =
  | { kind: 'sqlite'; file: string }
  | { kind: 'postgres'; url: Secret<string> };

/** Where recordings are kept: a local directory (the default) or an S3-compatible bucket. */
export type RecordingsLocation =
  | { kind: 'directory'; dir: string }
  | {
    kind: 's3';
    bucket: string;
    /** Key prefix without leading or trailing slash ('' for the bucket's root). */
    prefix: string;
    /** For S3-compatible servers (MinIO, Ceph, …); unset: AWS for the region. */
    endpoint: string | undefined;
    region: string;
    /** Unset: the AWS SDK's own chain (AWS_* environment, instance or task role). */
    credentials: { accessKeyId: string; secretAccessKey: Secret<string> } | undefined;
    forcePathStyle: boolean;
    /** Server-side encryption asked for on every object. */
    sse: 'AES256' | 'aws:kms' | undefined;
    sseKmsKeyId: string | undefined;
    /** Multipart part size: a gateway that dies loses at most this much of a live recording. */
    partBytes: number;
  };

export interface Config {
  dataDir: string;
  database: Database;
  secretKey: Secret<string> | undefined;
  sshPort: number;
  httpPort: number;
  bind: string;
  adminPassword: Secret<string> | undefined;
  trustProxy: string[];
  logLevel: z.infer<typeof envSchema>['BASTION_LOG_LEVEL'];
  /** `auto`: short coloured lines on a terminal, JSON lines (pino) otherwise. */
  logFormat: 'auto' | 'json' | 'pretty';
  /** GET /metrics on the web port answers only `Authorization: Bearer <this>`; unset: not served there. */
  metricsToken: Secret<string> | undefined;
  /** A separate listener for /metrics, /healthz and /readyz without a token (0 = none), on metricsBind. */
  metricsPort: number;
  metricsBind: string;
  sessionTtlMinutes: number;
  /** Sessions with a terminal, and shells without one: no input and no output for this long ends them (0 = never). */
  idleTimeoutMinutes: number;
  /** Sessions without a terminal (exec, SFTP, tunnels): the same, 0 = never (the default). */
  idleTimeoutExecMinutes: number;
  /** A web terminal whose websocket dropped keeps its backend session this long for the browser to reconnect (0 = ends at once). */
  webTerminalReconnectSeconds: number;
  /** Active sessions of every kind (SSH, web terminal, web file manager) one user may hold, across every process; 0 = no limit. */
  maxSessionsPerUser: number;
  /** Session channels (menu, shell, exec, SFTP, scp, rsync) one SSH connection holds at once, from channel-open to close (OpenSSH's MaxSessions). */
  maxSessionsPerConnection: number;
  /** Logged-in SSH connections one user holds at once, across processes; 0: no limit. */
  maxConnectionsPerUser: number;
  /** A logged-in SSH connection with no channel this long is closed (OpenSSH's UnusedConnectionTimeout); 0: never. */
  unusedConnectionTimeoutSeconds: number;
  /** Tunnels (direct-tcpip) one SSH connection holds at once, from channel-open to close: each is a TCP connection from the gateway to an asset. */
  maxTunnelsPerConnection: number;
  maxApiTokensPerUser: number;
  maxSshKeysPerUser: number;
  /** Web file manager: bytes of one user's uploads on their way to assets at once, in one server process. */
  uploadInFlightBytesPerUser: number;
  lockoutThreshold: number;
  lockoutMinutes: number;
  gatewayWorkers: number;
  publicHost: string | undefined;
  retentionDays: number;
  /** The shortest retention a purge may use (API or schedule): audit is not erased younger than this. */
  retentionMinDays: number;
  confirmTimeoutSeconds: number;
  /** How often a gateway marks its live sessions as alive; a session not marked for three periods is closed as interrupted. */
  sessionHeartbeatSeconds: number;
  /** The oldest an access snapshot or compiled filter list may be: a safety net for changes no bus carries. */
  cacheMaxAgeSeconds: number;
  /** How long a backend may take to answer (TCP connect, SSH handshake, login; also the keepalive period once connected). */
  backendTimeoutSeconds: number;
  /** From TCP accept to authenticated, like OpenSSH's LoginGraceTime. */
  loginGraceSeconds: number;
  /** Unauthenticated SSH connections allowed at once, in total and from one source address (OpenSSH MaxStartups). */
  maxStartups: number;
  maxStartupsPerSource: number;
  /** Authentication requests (none, key offers, passwords, …) one SSH connection may make. */
  maxAuthTries: number;
  httpHeadersTimeoutSeconds: number;
  httpRequestTimeoutSeconds: number;
  /** Open HTTP connections from one source address; 0 = no cap. Trusted proxies are exempt. */
  httpMaxConnectionsPerSource: number;
  /** Failures on one account (all sources) within the lockout period after which attempts are slowed down, never refused. */
  loginSlowdownThreshold: number;
  /** Login attempts (web and SSH) one source address may make per minute; 0 = no limit. */
  loginRatePerMinute: number;
  /** What a session does when its recording cannot be written: refused (new) / marked incomplete (live), or carries on unrecorded. */
  recordingFailure: 'refuse' | 'continue';
  /** Per-session recording cap in bytes (0: none), and what reaching it does. */
  recordingMaxBytes: number;
  recordingMaxAction: 'end' | 'truncate';
  /** New sessions are refused while the recordings disk has less than this many bytes free. */
  recordingMinFreeBytes: number;
  recordings: RecordingsLocation;
  /** A non-PTY exec is recorded as a transfer: this many bytes kept from the start and from the end of each direction. */
  execRecordKeepBytes: number;
  /** An exec without a PTY that starts a shell or interpreter reading stdin, while deny/confirm filters apply: refused, or allowed unchecked. */
  execStdinShell: 'refuse' | 'allow';
}

export class ConfigError extends Error {}

/**
 * Gateway workers for `auto`: one per core but one (at least one, at most 4) when there is
 * more than one core, in-process on one core. The core left over is the primary's: it serves
 * the web app and API, builds playback segments and runs jobs, and it is a process of its own
 * that the scheduler has to fit in. On 2 cores, two workers beside it meant three busy
 * processes on two cores — keystroke echo beside bulk sessions was slower than with one
 * worker, and each extra Node process keeps ~80 MiB resident while idle (issue 13).
 */
export function autoWorkers(cores = availableParallelism()): number {
  return cores > 1 ? Math.min(cores - 1, 4) : 0;
}

/** Reads the environment once; the only place in the project that looks at process.env. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`invalid ${name}: ${issue.message}`);
  }
  const e = parsed.data;
  const trustProxy = e.BASTION_TRUST_PROXY.split(',').map((s) => s.trim()).filter(Boolean);
  for (const entry of trustProxy) {
    const r = cidr.safeParse(entry);
    if (!r.success) throw new ConfigError(`invalid BASTION_TRUST_PROXY: '${entry}' ${r.error.issues[0]!.message}`);
  }
  if (e.BASTION_RETENTION_DAYS > 0 && e.BASTION_RETENTION_DAYS < e.BASTION_RETENTION_MIN_DAYS) {
    throw new ConfigError(`invalid BASTION_RETENTION_DAYS: must be 0 (keep everything) or at least BASTION_RETENTION_MIN_DAYS (${e.BASTION_RETENTION_MIN_DAYS})`);
  }
  const dataDir = path.resolve(e.BASTION_DATA_DIR);
  const recordings = recordingsLocation(e, dataDir);
  let database: Database;
  if (!e.DATABASE_URL) database = { kind: 'sqlite', file: path.join(dataDir, 'bastion.sqlite') };
  else if (e.DATABASE_URL.startsWith('sqlite:')) database = { kind: 'sqlite', file: path.resolve(e.DATABASE_URL.slice('sqlite:'.length)) };
  else database = { kind: 'postgres', url: new Secret(e.DATABASE_URL) };
  return {
    dataDir,
    database,
    secretKey: e.SECRET_KEY ? new Secret(e.SECRET_KEY) : undefined,
    sshPort: e.BASTION_SSH_PORT,
    httpPort: e.BASTION_HTTP_PORT,
    bind: e.BASTION_BIND,
    adminPassword: e.BASTION_ADMIN_PASSWORD ? new Secret(e.BASTION_ADMIN_PASSWORD) : undefined,
    trustProxy,
    logLevel: e.BASTION_LOG_LEVEL,
    logFormat: e.BASTION_LOG_FORMAT,
    metricsToken: e.BASTION_METRICS_TOKEN ? new Secret(e.BASTION_METRICS_TOKEN) : undefined,
    metricsPort: e.BASTION_METRICS_PORT,
    metricsBind: e.BASTION_METRICS_BIND,
    sessionTtlMinutes: e.BASTION_SESSION_TTL_MINUTES,
    idleTimeoutMinutes: e.BASTION_IDLE_TIMEOUT_MINUTES,
    idleTimeoutExecMinutes: e.BASTION_IDLE_TIMEOUT_EXEC_MINUTES,
    webTerminalReconnectSeconds: e.BASTION_WEB_TERMINAL_RECONNECT_SECONDS,
    maxSessionsPerUser: e.BASTION_MAX_SESSIONS_PER_USER,
    maxSessionsPerConnection: e.BASTION_MAX_SESSIONS_PER_CONNECTION,
    maxConnectionsPerUser: e.BASTION_MAX_CONNECTIONS_PER_USER,
    unusedConnectionTimeoutSeconds: e.BASTION_UNUSED_CONNECTION_TIMEOUT_SECONDS,
    maxTunnelsPerConnection: e.BASTION_MAX_TUNNELS_PER_CONNECTION,
    maxApiTokensPerUser: e.BASTION_MAX_API_TOKENS_PER_USER,
    maxSshKeysPerUser: e.BASTION_MAX_SSH_KEYS_PER_USER,
    uploadInFlightBytesPerUser: e.BASTION_UPLOAD_IN_FLIGHT_MB_PER_USER * 1024 * 1024,
    lockoutThreshold: e.BASTION_LOCKOUT_THRESHOLD,
    lockoutMinutes: e.BASTION_LOCKOUT_MINUTES,
    gatewayWorkers: e.BASTION_GATEWAY_WORKERS === 'auto' ? autoWorkers() : e.BASTION_GATEWAY_WORKERS,
    publicHost: e.BASTION_PUBLIC_HOST,
    retentionDays: e.BASTION_RETENTION_DAYS,
    retentionMinDays: e.BASTION_RETENTION_MIN_DAYS,
    confirmTimeoutSeconds: e.BASTION_CONFIRM_TIMEOUT_SECONDS,
    sessionHeartbeatSeconds: e.BASTION_SESSION_HEARTBEAT_SECONDS,
    cacheMaxAgeSeconds: e.BASTION_CACHE_MAX_AGE_SECONDS,
    backendTimeoutSeconds: e.BASTION_BACKEND_TIMEOUT_SECONDS,
    loginGraceSeconds: e.BASTION_LOGIN_GRACE_SECONDS,
    maxStartups: e.BASTION_MAX_STARTUPS,
    maxStartupsPerSource: e.BASTION_MAX_STARTUPS_PER_SOURCE,
    maxAuthTries: e.BASTION_MAX_AUTH_TRIES,
    httpHeadersTimeoutSeconds: e.BASTION_HTTP_HEADERS_TIMEOUT_SECONDS,
    httpRequestTimeoutSeconds: e.BASTION_HTTP_REQUEST_TIMEOUT_SECONDS,
    httpMaxConnectionsPerSource: e.BASTION_HTTP_MAX_CONNECTIONS_PER_SOURCE,
    loginSlowdownThreshold: e.BASTION_LOGIN_SLOWDOWN_THRESHOLD,
    loginRatePerMinute: e.BASTION_LOGIN_RATE_PER_MINUTE,
    recordingFailure: e.BASTION_RECORDING_FAILURE,
    recordingMaxBytes: e.BASTION_RECORDING_MAX_MB * 1024 * 1024,
    recordingMaxAction: e.BASTION_RECORDING_MAX_ACTION,
    recordingMinFreeBytes: e.BASTION_RECORDING_MIN_FREE_MB * 1024 * 1024,
    recordings,
    execRecordKeepBytes: e.BASTION_EXEC_RECORD_KEEP_KB * 1024,
    execStdinShell: e.BASTION_EXEC_STDIN_SHELL,
  };
}

/** BASTION_RECORDINGS_URL: unset (<data dir>/recordings), a directory path or file:// URL, or s3://bucket/prefix. */
function recordingsLocation(e: z.infer<typeof envSchema>, dataDir: string): RecordingsLocation {
  const url = e.BASTION_RECORDINGS_URL;
  if (!url) return { kind: 'directory', dir: path.join(dataDir, 'recordings') };
  if (url.startsWith('file://')) return { kind: 'directory', dir: path.resolve(decodeURIComponent(new URL(url).pathname)) };
  if (!url.startsWith('s3://')) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new ConfigError('invalid BASTION_RECORDINGS_URL: must be a directory, file:///path or s3://bucket/prefix');
    return { kind: 'directory', dir: path.resolve(url) };
  }
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new ConfigError('invalid BASTION_RECORDINGS_URL: s3://bucket/prefix with a valid bucket name');
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((part) => part === '.' || part === '..') || prefix.includes('//')) {
    throw new ConfigError('invalid BASTION_RECORDINGS_URL: the prefix may not hold empty, . or .. parts');
  }
  if (!!e.BASTION_S3_ACCESS_KEY_ID !== !!e.BASTION_S3_SECRET_ACCESS_KEY) {
    throw new ConfigError('invalid BASTION_S3_ACCESS_KEY_ID: set both BASTION_S3_ACCESS_KEY_ID and BASTION_S3_SECRET_ACCESS_KEY, or neither');
  }
  if (e.BASTION_S3_SSE_KMS_KEY_ID && e.BASTION_S3_SSE !== 'aws:kms') throw new ConfigError('invalid BASTION_S3_SSE_KMS_KEY_ID: needs BASTION_S3_SSE=aws:kms');
  return {
    kind: 's3',
    bucket: m[1]!,
    prefix,
    endpoint: e.BASTION_S3_ENDPOINT,
    region: e.BASTION_S3_REGION,
    credentials: e.BASTION_S3_ACCESS_KEY_ID && e.BASTION_S3_SECRET_ACCESS_KEY
      ? { accessKeyId: e.BASTION_S3_ACCESS_KEY_ID, secretAccessKey: new Secret(e.BASTION_S3_SECRET_ACCESS_KEY) }
      : undefined,
    forcePathStyle: e.BASTION_S3_FORCE_PATH_STYLE,
    sse: e.BASTION_S3_SSE === 'none' ? undefined : e.BASTION_S3_SSE,
    sseKmsKeyId: e.BASTION_S3_SSE_KMS_KEY_ID,
    partBytes: e.BASTION_S3_PART_MB * 1024 * 1024,
  };
}
