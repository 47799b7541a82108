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
  /** podman's view of it: running, exited (with the exit code), … */
  state(): Promise<{ status: string; exitCode: number }>;
  /** Its state and the last lines of its logs, for a failure message. */
  explain(): Promise<string>;
  remove(): Promise<void>;
}

let seq = 0;

/** `podman run -d` of the image with `env` and `args` (the bastion command). */
export async function runContainer(opts: { env: Record<string, string>; volume: string; args?: string[]; image?: string }): Promise<Container> {
  const name = `bastion-test-${process.pid}-${++seq}`;
  const env = Object.entries(opts.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  const state = async () => {
    const r = await podman(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name], { reject: false });
    const [status = 'unknown', code = '-1'] = String(r.stdout).trim().split(' ');
    return { status: r.exitCode === 0 ? status : `not inspectable (${String(r.stderr).trim()})`, exitCode: Number(code) };
  };
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
    state,
    async explain() {
      const { status, exitCode } = await state();
      const logs = await podman(['logs', '--tail', '40', name], { reject: false });
      return `\ncontainer ${name}: ${status}${status === 'exited' ? ` (exit code ${exitCode})` : ''}; its last log lines:\n${String(logs.stdout)}${String(logs.stderr)}`;
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

/**
 * Polls `url` until it answers 200; resolves with the milliseconds it took. With `container`,
 * stops as soon as that container is no longer running, and either way a failure says what the
 * endpoint last answered, the container's state and the end of its logs: a start that never got
 * ready is explained in the test's own output, not only by a timeout.
 */
export async function waitReady(url: string, ms = 60_000, container?: Container): Promise<number> {
  const start = performance.now();
  let last = 'no answer';
  let checkedState = start;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return performance.now() - start;
      last = `HTTP ${res.status} ${(await res.text()).slice(0, 500)}`;
    } catch (err) {
      last = `no answer (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message})`;
    }
    const waited = performance.now() - start;
    let ended = false;
    if (container && performance.now() - checkedState > 2000) {
      checkedState = performance.now();
      ended = (await container.state()).status !== 'running';
    }
    if (waited > ms || ended) {
      const why = ended ? 'its container stopped' : `not ready within ${ms} ms`;
      throw new Error(`${url}: ${why}; last answer: ${last}${container ? await container.explain() : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
