import type { DataSource } from 'typeorm';
import type { Config } from './config.ts';
import { ChangeFeed } from './changeFeed.ts';
import { createLogger, type Logger } from './logger.ts';
import { openDatabase, underStartupLock } from './db/dataSource.ts';
import { Vault, resolveSecretKey } from './vault/vault.ts';
import { UserService } from './identity/users.ts';
import { GroupService } from './identity/groups.ts';
import { UserKeyService } from './identity/userKeys.ts';
import { ApiTokenService } from './identity/apiTokens.ts';
import { WebSessionService } from './identity/webSessions.ts';
import { AuthenticationService } from './identity/authentication.ts';
import { LoginThrottle } from './identity/loginThrottle.ts';
import { TotpEnrolmentService } from './identity/totpEnrolment.ts';
import type { MfaPolicyService } from './identity/mfaPolicy.ts';
import { NodeService } from './assets/nodes.ts';
import { AssetService } from './assets/assets.ts';
import { AdminUserService, SystemUserService } from './assets/accounts.ts';
import { HostKeyService } from './assets/hostKeys.ts';
import { PermissionService } from './access/permissions.ts';
import { AccessService } from './access/accessService.ts';
import { AuditLogService } from './audit/auditLogs.ts';
import { SessionService } from './audit/sessions.ts';
import { SshConnectionLeases } from './audit/sshConnections.ts';
import { bootstrap, type BootstrapResult } from './bootstrap.ts';
import { JobService } from './ops/jobs.ts';
import { OperationsService } from './ops/operations.ts';
import { SavedCommandService } from './ops/savedCommands.ts';
import { BulkService } from './bulk/bulkActions.ts';
import { ClusterBus, type Bus } from './bus.ts';
import type { PostgresBusPeer } from './busPostgres.ts';
import { CommandFilterService } from './access/commandFilters.ts';
import { SessionControl } from './audit/sessionControl.ts';
import { CommandConfirmations } from './audit/commandConfirmations.ts';
import { RetentionService } from './audit/retention.ts';
import { DashboardService } from './audit/dashboard.ts';
import { FileTransferService } from './audit/fileTransfers.ts';
import { MyAssetsService } from './access/myAssets.ts';
import { securePrivateDir } from './dataDir.ts';
import { Metrics } from './metrics.ts';
import { Readiness } from './readiness.ts';
import { openRecordingStore } from './recordings/openRecordingStore.ts';
import type { RecordingStore } from './recordings/recordingStore.ts';

/** The composition root's product: every core service, built once and passed down. */
export interface Services {
  config: Config;
  log: Logger;
  ds: DataSource;
  vault: Vault;
  changes: ChangeFeed;
  users: UserService;
  groups: GroupService;
  userKeys: UserKeyService;
  apiTokens: ApiTokenService;
  webSessions: WebSessionService;
  authentication: AuthenticationService;
  totp: TotpEnrolmentService;
  mfaPolicy: MfaPolicyService;
  nodes: NodeService;
  assets: AssetService;
  systemUsers: SystemUserService;
  adminUsers: AdminUserService;
  hostKeys: HostKeyService;
  permissions: PermissionService;
  access: AccessService;
  auditLogs: AuditLogService;
  sessions: SessionService;
  /** Logged-in SSH connections per user, counted across processes (BASTION_MAX_CONNECTIONS_PER_USER). */
  sshConnections: SshConnectionLeases;
  /** Where recordings are kept (BASTION_RECORDINGS_URL): the only code that touches recording files. */
  recordings: RecordingStore;
  jobs: JobService;
  operations: OperationsService;
  savedCommands: SavedCommandService;
  bulk: BulkService;
  bus: Bus;
  commandFilters: CommandFilterService;
  sessionControl: SessionControl;
  confirmations: CommandConfirmations;
  retention: RetentionService;
  dashboard: DashboardService;
  fileTransfers: FileTransferService;
  myAssets: MyAssetsService;
  bootstrapResult: BootstrapResult;
  metrics: Metrics;
  readiness: Readiness;
  close(): Promise<void>;
}

export interface ServiceOptions {
  log?: Logger;
  /** The bus of a node:cluster primary or worker; a bus of its own otherwise. */
  bus?: ClusterBus;
  /**
   * False in gateway worker processes: start-up housekeeping (closing sessions and jobs a
   * crash left open) belongs to the one primary process, not to each worker.
   */
  primary?: boolean;
  /** Labels this process's own metric series (event-loop lag, memory): `main` by default. */
  processName?: string;
}

export async function createServices(config: Config, opts: ServiceOptions = {}): Promise<Services> {
  const log = opts.log ?? createLogger(config.logLevel, config.logFormat);
  // The primary process makes the data dir private before anything is written to it (workers find it so).
  if (opts.primary ?? true) securePrivateDir(config.dataDir, (line) => log.warn(line));
  const vault = new Vault(resolveSecretKey(config.dataDir, config.secretKey));
  const ds = await openDatabase(config.database, { migrate: opts.primary ?? true });
  let stopSweep = (): void => undefined;
  let stopJobSweep = (): void => undefined;
  let stopConnectionSweep = (): void => undefined;
  let pgBus: PostgresBusPeer | null = null;
  try {
    const bootstrapResult = await underStartupLock(ds, () => bootstrap(ds, vault, config.adminPassword));
    const changes = new ChangeFeed();
    const primary = opts.primary ?? true;
    const metrics = new Metrics(opts.processName);
    const readiness = new Readiness();
    readiness.add('database', async () => { await ds.query('SELECT 1'); });
    const recordings = await openRecordingStore(config.recordings, log.child({ component: 'recordings' }));
    const sessions = new SessionService(ds, config, recordings, { log });
    readiness.add('recordings', () => sessions.checkRecordingsWritable());
    // Sessions whose gateway is gone are closed here and on a timer; a running gateway's are not (heartbeats).
    if (primary) stopSweep = await sessions.sweepOrphans();
    // Audit rows a stopped process journaled during a database outage are written now.
    if (primary) await sessions.journal.replayOrphans();
    const nodes = new NodeService(ds, changes);
    const assets = new AssetService(ds, changes);
    const systemUsers = new SystemUserService(ds, vault, changes);
    const adminUsers = new AdminUserService(ds, vault, changes);
    const hostKeys = new HostKeyService(ds);
    const access = new AccessService(ds, changes, config.cacheMaxAgeSeconds * 1000);
    const jobs = new JobService(ds, log.child({ component: 'jobs' }), config.maxSessionsPerUser, config.sessionHeartbeatSeconds * 1000);
    // Jobs whose process is gone are failed here and on a timer; those a live process runs are not (heartbeats).
    if (primary) stopJobSweep = await jobs.sweepInterrupted();
    // SSH connections whose gateway is gone stop counting; a running gateway's do not (heartbeats).
    const sshConnections = new SshConnectionLeases(ds, config.sessionHeartbeatSeconds * 1000, log.child({ component: 'connections' }));
    if (primary) stopConnectionSweep = await sshConnections.sweepStale();
    // Job counts come from the database: one process (the primary) reports them, or the sum would count them twice.
    if (primary) {
      metrics.onCollect(async () => {
        const counts = await jobs.countByStatus();
        metrics.jobs.reset();
        for (const { status, count } of counts) metrics.jobs.set({ status }, count);
      });
    }
    const bus = opts.bus ?? new ClusterBus();
    // On PostgreSQL, processes on other hosts (more gateways, web servers) share the bus through
    // it; a gateway worker hears them through its primary.
    if (primary && config.database.kind === 'postgres') {
      // Loaded only here: the pg driver costs every SQLite process ~15 MB of RSS for nothing.
      const { PostgresBusPeer } = await import('./busPostgres.ts');
      pgBus = await PostgresBusPeer.connect(config.database.url.reveal(), log.child({ component: 'bus' }), (seconds) => metrics.busLag.observe(seconds));
      bus.addPeer(pgBus, true);
    }
    changes.connect(bus);
    const commandFilters = new CommandFilterService(ds, access, changes, config.cacheMaxAgeSeconds * 1000);
    // Rule 11 for jobs: a change to users, permissions or locks, here or in another process, re-checks running jobs.
    changes.subscribe(() => void jobs.recheck());
    bus.subscribe('user.revoked', () => void jobs.recheck());
    jobs.connect(bus);
    if (primary) bus.subscribe('session.ended', (m) => sessions.prebuildSegments(m.sessionId));
    const authentication = new AuthenticationService(ds, vault, new LoginThrottle(ds, {
      threshold: config.lockoutThreshold, minutes: config.lockoutMinutes,
      slowdownThreshold: config.loginSlowdownThreshold, ratePerMinute: config.loginRatePerMinute,
    }), sessions.journal, metrics);
    // Web sessions (and their sockets) of a role that now requires MFA may only enrol: re-check them
    // everywhere now, as for any change to users, not at the next periodic check.
    authentication.mfaPolicy.onChange(() => changes.emit('users'));
    const retention = new RetentionService(ds, sessions, log.child({ component: 'retention' }), { minDays: config.retentionMinDays, intervalMs: 60_000 });
    const users = new UserService(ds, changes, bus);
    const permissions = new PermissionService(ds, changes);
    const confirmations = new CommandConfirmations(ds, bus);
    const operations = new OperationsService(
      { ds, assets, nodes, adminUsers, systemUsers, hostKeys, access, jobs, commandFilters, confirmations },
      { loginMs: config.backendTimeoutSeconds * 1000, playbookMs: 180_000, confirmMs: config.confirmTimeoutSeconds * 1000 },
    );
    return {
      config, log, ds, vault, changes, bootstrapResult, metrics, readiness,
      users,
      groups: new GroupService(ds, changes),
      userKeys: new UserKeyService(ds, config.maxSshKeysPerUser),
      apiTokens: new ApiTokenService(ds, bus, config.maxApiTokensPerUser),
      webSessions: new WebSessionService(ds, config.sessionTtlMinutes, bus),
      authentication,
      mfaPolicy: authentication.mfaPolicy,
      totp: new TotpEnrolmentService(ds, vault, authentication.mfaPolicy),
      nodes, assets, systemUsers, adminUsers, hostKeys, access, jobs,
      permissions,
      auditLogs: new AuditLogService(ds),
      savedCommands: new SavedCommandService(ds),
      operations,
      bulk: new BulkService({ ds, access, users, assets, systemUsers, permissions, operations }),
      sessions,
      sshConnections,
      recordings,
      bus,
      commandFilters,
      sessionControl: new SessionControl(ds, bus, sessions),
      confirmations,
      retention,
      dashboard: new DashboardService(ds, retention),
      fileTransfers: new FileTransferService(ds, sessions.journal),
      myAssets: new MyAssetsService(ds, access),
      close: async () => {
        stopSweep();
        stopJobSweep();
        stopConnectionSweep();
        sshConnections.stop();
        await pgBus?.close();
        await jobs.stopAll();
        await sessions.flushCommands();
        sessions.journal.close();
        await sessions.segments.close();
        recordings.close();
        await ds.destroy();
        metrics.close();
      },
    };
  } catch (err) {
    stopSweep();
    stopJobSweep();
    stopConnectionSweep();
    await pgBus?.close();
    await ds.destroy();
    throw err;
  }
}
