import { loadConfig, type Config } from '../../core/config.ts';
import { createServices, type Services } from '../../core/services.ts';
import { startHttp, type HttpHandle } from '../../server/http.ts';
import { ClusterBus } from '../../core/bus.ts';
import { startWorkerGateway } from './gatewayWorkers.ts';
import { makeTempDir, removeTempDir } from './tmp.ts';

export const ADMIN_PASSWORD = 'Adm1n-pass-for-tests';

export interface BastionOptions {
  env?: Record<string, string>;
  http?: boolean;
  /**
   * Start the SSH gateway too: in this process (gateway/index.ts), or in gateway worker
   * processes with this one as their primary, as `bastion start` runs it (helpers/gatewayWorkers.ts).
   */
  gateway?: boolean | 'workers';
  dataDir?: string;
  /** The bus of a node:cluster primary, for gateway worker processes (test/gatewayFixture.ts). */
  bus?: ClusterBus;
}

export interface Bastion {
  config: Config;
  /** The environment `config` was read from: what a worker process of this product is given. */
  env: Record<string, string>;
  services: Services;
  dataDir: string;
  http: HttpHandle | null;
  baseUrl: string;
  sshPort: number;
  stop(): Promise<void>;
}

/** Starts the real product (services, HTTP on a random port, optionally the gateway) over a temp SQLite file. */
export async function startBastion(opts: BastionOptions = {}): Promise<Bastion> {
  const dataDir = opts.dataDir ?? makeTempDir('bastion-data-');
  const env: Record<string, string> = {
    BASTION_DATA_DIR: dataDir,
    BASTION_ADMIN_PASSWORD: ADMIN_PASSWORD,
    BASTION_LOG_LEVEL: 'silent',
    BASTION_BIND: '127.0.0.1',
    BASTION_HTTP_PORT: '0',
    BASTION_SSH_PORT: '0',
    // Suites log in from 127.0.0.1 far more often than a person; the per-source login rate has its own tests.
    BASTION_LOGIN_RATE_PER_MINUTE: '0',
    ...opts.env,
  };
  const config = loadConfig(env);
  // What createServices makes when given none; made here so that gateway workers can be its peers.
  const bus = opts.bus ?? new ClusterBus();
  const services = await createServices(config, { bus });
  const http = opts.http === false ? null : await startHttp(services, { port: 0, host: '127.0.0.1' });
  let gatewayClose: (() => Promise<void>) | null = null;
  let sshPort = 0;
  if (opts.gateway === 'workers') {
    const gw = await startWorkerGateway(config, env, bus, { metrics: services.metrics, readiness: services.readiness });
    gatewayClose = gw.close;
    sshPort = gw.port;
  } else if (opts.gateway) {
    const { startGateway } = await import('../../gateway/index.ts');
    const gw = await startGateway(services, { port: 0, host: '127.0.0.1' });
    gatewayClose = gw.close;
    sshPort = gw.port;
  }
  return {
    config, env, services, dataDir, http, sshPort,
    baseUrl: http ? `http://127.0.0.1:${http.port}` : '',
    async stop() {
      try {
        // Gateway workers' close fails when one of them crashed: the rest still stops.
        if (gatewayClose) await gatewayClose();
      } finally {
        if (http) await http.close();
        await services.close();
        if (!opts.dataDir) removeTempDir(dataDir);
      }
    },
  };
}
