// Podman for the container image suite (test/deploy.image.test.ts). In this sandbox podman runs
// containers only with runc, cgroupfs and explicit ulimits, on the host network. The image is
// built by scripts/podman-build-image.sh (on a local stand-in for node:20-bookworm-slim, since no
// container registry is reachable), which scripts/test.sh runs before this suite.
import { existsSync } from 'node:fs';
import { execa, type Options, type Result } from 'execa';

const GLOBAL = ['--runtime', 'runc', '--cgroup-manager=cgroupfs'];
export const RUN_OPTS = ['--network', 'host', '--ulimit', 'nofile=10000:10000', '--ulimit', 'nproc=5000:5000'];
export const IMAGE = 'localhost/bastion:test';

/** Why the suite cannot run here, or undefined. */
export function podmanUnavailable(): string | undefined {
  for (const bin of ['/usr/bin/podman', '/usr/sbin/runc', '/usr/bin/mmdebstrap']) {
    if (!existsSync(bin)) return `${bin} is missing (Debian: apt-get install podman runc mmdebstrap); the container image is not tested here`;
  }
  return undefined;
}

export function podman(args: string[], opts: Options = {}): Promise<Result> {
  return execa('podman', [...GLOBAL, ...args], { reject: true, timeout: 120_000, ...opts }) as Promise<Result>;
}

/** The image scripts/podman-build-image.sh built (scripts/test.sh runs it before this suite), or why not. */
export async function imageMissing(tag = IMAGE): Promise<string | undefined> {
  const r = await podman(['image', 'exists', tag], { reject: false });
  return r.exitCode === 0 ? undefined : `${tag} is not built: run the suite through npm test (scripts/test.sh builds it) or run scripts/podman-build-image.sh`;
}

export async function imageSize(tag = IMAGE): Promise<number> {
  return Number(String((await podman(['image', 'inspect', '--format', '{{.Size}}', tag])).stdout).trim());
}

export interface Container {
  name: string;
  /** `podman stop` with SIGTERM and up to `seconds` before SIGKILL; resolves with the exit code. */
  stop(seconds?: number): Promise<number>;
  logs(): Promise<string>;
  remove(): Promise<void>;
}

let seq = 0;

/** `podman run -d` of the image with `env` and `args` (the bastion command). */
export async function runContainer(opts: { env: Record<string, string>; volume: string; args?: string[]; image?: string }): Promise<Container> {
  const name = `bastion-test-${process.pid}-${++seq}`;
  const env = Object.entries(opts.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  await podman(['run', '-d', '--name', name, ...RUN_OPTS, '-v', `${opts.volume}:/data`, ...env, opts.image ?? IMAGE, ...(opts.args ?? [])]);
  return {
    name,
    async stop(seconds = 10) {
      await podman(['stop', '--time', String(seconds), name], { timeout: (seconds + 30) * 1000 });
      const r = await podman(['inspect', '--format', '{{.State.ExitCode}}', name]);
      return Number(String(r.stdout).trim());
    },
    async logs() {
      const r = await podman(['logs', name]);
      return `${String(r.stdout)}\n${String(r.stderr)}`;
    },
    async remove() {
      await podman(['rm', '-f', '-t', '0', name], { reject: false });
    },
  };
}

export async function createVolume(): Promise<{ name: string; remove(): Promise<void> }> {
  const name = `bastion-test-data-${process.pid}-${++seq}`;
  await podman(['volume', 'create', name]);
  return { name, remove: async () => { await podman(['volume', 'rm', '-f', name], { reject: false }); } };
}

/** Polls `url` until it answers 200; resolves with the milliseconds it took. */
export async function waitReady(url: string, ms = 60_000): Promise<number> {
  const start = performance.now();
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return performance.now() - start;
    } catch {
      // Not listening yet.
    }
    if (performance.now() - start > ms) throw new Error(`${url} was not ready within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
