// A compose project run with podman-compose for test/deploy.compose.test.ts: the repository's
// compose file copied into a temp dir with a generated .env and a test-only override file (the
// user-facing files stay as users run them), the sandbox's podman flags supplied by
// podmanComposeShim.sh, and everything the project made (containers, volumes, network) removed
// by `remove()`, whatever state the test left it in.
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { podman } from './podman.ts';
import { makeTempDir, removeTempDir } from './tmp.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHIM = fileURLToPath(new URL('podmanComposeShim.sh', import.meta.url));
const COMPOSE = '/usr/bin/podman-compose';

/** The images scripts/podman-service-images.sh builds (scripts/test.sh runs it before the suite). */
export const SERVICE_IMAGES = { postgres: 'localhost/bastion-postgres:test', s3: 'localhost/bastion-s3:test' };

export function podmanComposeUnavailable(): string | undefined {
  return existsSync(COMPOSE) ? undefined : `${COMPOSE} is missing (Debian: apt-get install podman-compose); compose files are not tested here`;
}

export interface ComposeProject {
  readonly name: string;
  readonly dir: string;
  /** `podman-compose up -d [services]`. */
  up(...services: string[]): Promise<void>;
  /** `podman-compose down` (containers go, named volumes stay). */
  down(): Promise<void>;
  /** The container of `service` (podman-compose names it <project>_<service>_1). */
  container(service: string): string;
  /** Resolves once the service's healthcheck passes (run by hand: podman has no systemd timers here). */
  healthy(service: string, ms?: number): Promise<void>;
  /** Resolves with the exit code once the service's container has exited. */
  exited(service: string): Promise<number>;
  logs(service: string): Promise<string>;
  /** Removes containers, volumes and the network of the project, and the temp dir. Idempotent. */
  remove(): Promise<void>;
}

/**
 * Copies `file` (compose.yaml or compose.scale.yaml) into a temp dir with `.env` from `env`
 * and `override` as compose.test.yaml, for project `name`; `allServices` are the file's services
 * (podman-compose 1.0.3 has no `config --services`).
 */
export function composeProject(name: string, file: string, allServices: string[], env: Record<string, string>, override: string): ComposeProject {
  const dir = makeTempDir('bastion-compose-');
  copyFileSync(join(ROOT, file), join(dir, file));
  writeFileSync(join(dir, '.env'), Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
  writeFileSync(join(dir, 'compose.test.yaml'), override);
  const compose = (args: string[]) =>
    execa(COMPOSE, ['--podman-path', SHIM, '-p', name, '-f', file, '-f', 'compose.test.yaml', ...args], { cwd: dir, all: true, timeout: 120_000 });
  const container = (service: string) => `${name}_${service}_1`;
  const run = async (args: string[]) => {
    const r = await compose(args).catch((err: { all?: string; message: string }) => {
      throw new Error(`podman-compose ${args.join(' ')} failed: ${err.all ?? err.message}`);
    });
    return String(r.all);
  };
  let removed = false;
  return {
    name,
    dir,
    async up(...services) {
      const out = await run(['up', '-d', ...services]);
      // podman-compose 1.0.3 exits 0 even when a `podman run` it started failed: each container must exist.
      const wanted = services.length ? services : allServices;
      for (const service of wanted) {
        if ((await podman(['container', 'exists', container(service)], { reject: false })).exitCode !== 0) {
          throw new Error(`podman-compose up did not create ${container(service)}:\n${out}`);
        }
      }
    },
    async down() {
      await run(['down']);
    },
    container,
    async healthy(service, ms = 60_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const r = await podman(['healthcheck', 'run', container(service)], { reject: false });
        if (r.exitCode === 0) return;
        if (Date.now() > deadline) throw new Error(`${service} is not healthy after ${ms} ms:\n${await this.logs(service)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    },
    async exited(service) {
      const r = await podman(['wait', container(service)]);
      return Number(String(r.stdout).trim());
    },
    async logs(service) {
      const r = await podman(['logs', container(service)], { reject: false });
      return `${String(r.stdout)}\n${String(r.stderr)}`;
    },
    async remove() {
      if (removed) return;
      removed = true;
      const label = `label=io.podman.compose.project=${name}`;
      const ids = String((await podman(['ps', '-aq', '--filter', label], { reject: false })).stdout).split('\n').filter(Boolean);
      if (ids.length) await podman(['rm', '-f', '-v', '-t', '0', ...ids], { reject: false });
      const volumes = String((await podman(['volume', 'ls', '-q', '--filter', label], { reject: false })).stdout).split('\n').filter(Boolean);
      if (volumes.length) await podman(['volume', 'rm', '-f', ...volumes], { reject: false });
      await podman(['network', 'rm', '-f', `${name}_default`], { reject: false });
      removeTempDir(dir);
    },
  };
}
