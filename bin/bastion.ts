/**
 * The composition root and CLI: builds config and services once and hands them to the
 * faces (SSH gateway, HTTP server). The only file that prints to the console.
 */
import { loadConfig, ConfigError, type Config } from '../core/config.ts';
import { createServices, type Services } from '../core/services.ts';
import { openDatabase } from '../core/db/dataSource.ts';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { VaultKeyError } from '../core/vault/vault.ts';
import { DataDirError, securePrivateDir } from '../core/dataDir.ts';
import { ClusterBus } from '../core/bus.ts';
import { isGatewayWorker, runGatewayWorker, startGatewayWorkers } from './gatewayCluster.ts';
import { SHUTDOWN_DEADLINE_MS } from './shutdownDeadlines.ts';
import { installProcessGuard } from './processGuard.ts';
import { createLogger, logsArePretty, type Logger } from '../core/logger.ts';

const USAGE = `usage: bastion <command>

commands:
  start                     SSH gateway and web server in one process (default)
  server                    web server and API only
  gateway                   SSH gateway only
  migrate                   apply database migrations and exit
  reset-password <user>     print a one-time password for <user> (must change at next login)
  help                      this text

configuration comes from the environment; see README.md and .env.example`;

type Stopper = () => Promise<void>;

function onSignals(stop: Stopper, log: Logger): void {
  let stopping = false;
  const handler = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, 'shutting down: live sessions are ended and their recordings flushed');
    const force = setTimeout(() => {
      log.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    force.unref();
    stop().then(() => {
      log.info('stopped');
      process.exit(0);
    }, (err: unknown) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

function printWelcome(config: Config, services: Services, faces: { http?: number; ssh?: number }): void {
  const host = config.publicHost ?? (config.bind === '0.0.0.0' || config.bind === '::' ? 'localhost' : config.bind);
  // Where logs are JSON lines (a container, a service manager), the welcome is one of them.
  if (!logsArePretty(config.logFormat)) {
    const first = services.bootstrapResult.firstStart
      ? (services.bootstrapResult.adminPasswordIsDefault ? 'log in as admin / admin; you will be asked to choose a new password' : 'log in as admin with the password from BASTION_ADMIN_PASSWORD')
      : undefined;
    services.log.info({
      web: faces.http, ssh: faces.ssh, database: config.database.kind, firstStart: services.bootstrapResult.firstStart,
      webUrl: faces.http !== undefined ? `http://${host}:${faces.http}/` : undefined,
      sshCommand: faces.ssh !== undefined ? `ssh -p ${faces.ssh} admin@${host}` : undefined,
      firstLogin: first,
    }, 'bastion is running');
    return;
  }
  console.log('Bastion is running.');
  if (faces.http !== undefined) console.log(`  web:  http://${host}:${faces.http}/`);
  if (faces.ssh !== undefined) console.log(`  ssh:  ssh -p ${faces.ssh} admin@${host}`);
  console.log(`  data: ${config.dataDir} (${config.database.kind})`);
  // Separate faces share live-session control only through PostgreSQL.
  if (config.database.kind === 'sqlite' && (faces.http === undefined || faces.ssh === undefined)) {
    console.log('  note: on SQLite, terminate, live view and command confirmations reach only sessions of this process, and changes to access and command filters reach other processes only after up to 15 s; run `bastion start`, or use PostgreSQL for separate server and gateway processes.');
  }
  if (services.bootstrapResult.firstStart) {
    if (services.bootstrapResult.adminPasswordIsDefault) console.log('First start: log in as admin / admin; you will be asked to choose a new password.');
    else console.log('First start: log in as admin with the password from BASTION_ADMIN_PASSWORD.');
  }
}

async function run(command: string, args: string[]): Promise<void> {
  const config = loadConfig();
  switch (command) {
    case 'migrate': {
      securePrivateDir(config.dataDir, (line) => console.error(`bastion: ${line}`));
      const ds = await openDatabase(config.database, { migrate: true });
      const pending = await ds.showMigrations();
      await ds.destroy();
      console.log(pending ? 'migrations pending' : 'database is up to date');
      return;
    }
    case 'reset-password': {
      const username = args[0];
      if (!username) throw new UsageError('reset-password needs a username');
      const services = await createServices(config);
      try {
        const oneTime = await services.users.resetPassword({ ...SYSTEM_ACTOR, username: 'cli' }, username);
        console.log(`one-time password for ${username}: ${oneTime}`);
        console.log('it must be changed at the next login.');
      } finally {
        await services.close();
      }
      return;
    }
    case 'start':
    case 'server':
    case 'gateway': {
      installProcessGuard(createLogger(config.logLevel, config.logFormat).child({ component: 'process' }));
      const workers = command === 'server' ? 0 : config.gatewayWorkers;
      const bus = workers > 0 ? new ClusterBus() : undefined;
      const services = await createServices(config, bus ? { bus } : {});
      const stops: Stopper[] = [];
      const faces: { http?: number; ssh?: number } = {};
      // Not ready until the gateway listens (the web server answers first): the gateway's own check replaces this one.
      if (command !== 'server') services.readiness.add('gateway', async () => { throw new Error('the SSH gateway is starting'); });
      // Gateway workers start first (once the database is migrated): they load and open it on
      // the other cores while this process starts the web server (issue 16: start to ready).
      const workersStarting = command !== 'server' && bus
        ? startGatewayWorkers(config, workers, bus, (line) => console.log(line), {}, { metrics: services.metrics, readiness: services.readiness, connections: services.sshConnections })
        : undefined;
      // Awaited below; a failure before then is handled there, not reported as unhandled.
      workersStarting?.catch(() => undefined);
      try {
        // The web server's modules (express, the routes, websockets) load only where it runs: not
        // in a `gateway` process, nor in the gateway workers, which run this file too (issue 13: idle RSS).
        if (command !== 'gateway') {
          const web = await import('./webFace.ts');
          await web.ensureWebBuild((line) => console.log(line));
          const http = await web.startHttp(services);
          stops.push(http.close);
          faces.http = http.port;
          const stopRetention = services.retention.schedule(config.retentionDays);
          stops.push(async () => stopRetention());
        }
        if (workersStarting) {
          const gw = await workersStarting;
          stops.push(gw.stop);
          faces.ssh = gw.port;
        } else if (command !== 'server') {
          const { startGateway } = await import('../gateway/index.ts');
          const gw = await startGateway(services);
          stops.push(gw.close);
          faces.ssh = gw.port;
        }
        if (config.metricsPort > 0) {
          const { startOpsListener } = await import('../server/opsListener.ts');
          const ops = await startOpsListener(services);
          stops.push(ops.close);
        }
      } catch (err) {
        // Workers that were still starting when the web server failed are stopped too.
        if (workersStarting && faces.ssh === undefined) await workersStarting.then((gw) => gw.stop(), () => undefined);
        for (const stop of stops.reverse()) await stop();
        await services.close();
        throw err;
      }
      onSignals(async () => {
        for (const stop of stops.reverse()) await stop();
        await services.close();
      }, services.log.child({ component: 'process' }));
      printWelcome(config, services, faces);
      return;
    }
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

class UsageError extends Error {}

const [command = 'start', ...rest] = process.argv.slice(2);
if (isGatewayWorker()) {
  const config = loadConfig();
  installProcessGuard(createLogger(config.logLevel, config.logFormat).child({ component: 'process' }));
  runGatewayWorker(config).catch((err: unknown) => {
    console.error('bastion: gateway worker failed:', err instanceof Error ? err.message : err);
    process.exit(1);
  });
} else if (command === 'help' || command === '--help' || command === '-h') {
  console.log(USAGE);
} else {
  run(command, rest).catch((err: unknown) => {
    if (err instanceof UsageError) console.error(`bastion: ${err.message}\n\n${USAGE}`);
    else if (err instanceof ConfigError || err instanceof VaultKeyError || err instanceof DataDirError) console.error(`bastion: ${err.message}`);
    else if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') console.error(`bastion: ${(err as Error).message}: the port is taken; set BASTION_HTTP_PORT / BASTION_SSH_PORT`);
    else console.error('bastion: failed to start:', err instanceof Error ? err.message : err);
    process.exit(command === 'help' ? 0 : 1);
  });
}
