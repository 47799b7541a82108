// Shared setup for the gateway suites: the real product (SQLite, core services) with the
// SSH gateway on a loopback port, a real OpenSSH sshd as the asset `web01`, an operator
// `alice` granted it, and operators played by the real `ssh` and by ssh2.
//
// Two topologies (issue 11: tests run in the topology users run):
// - `in-process`: the gateway runs in the test's own process over the test's services.
// - `workers`: what `npm start` runs (dist/bin/bastion.js `start`, BASTION_GATEWAY_WORKERS=auto on a
//   multi-core host). The test process is the node:cluster primary: it owns the services the
//   tests and factories use, as the primary owns the web server's, and calls the product's own
//   startGatewayWorkers, which forks real compiled `dist/bin/bastion.js` gateway worker processes. They read
//   the same environment, share the SQLite data dir, and hear the primary's changes only over
//   the ClusterBus (access.changed, user.revoked, terminate, confirmations), as in production.
// The topology comes from `startWorld({ topology })`, else BASTION_TEST_GATEWAY (`workers` |
// `in-process`, default in-process); the `*.workers.test.ts` files re-run whole suites under
// useWorkersTopology().
import { execa, type Options as ExecaOptions, type Result } from 'execa';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig } from 'ssh2';
import { startBastion, type Bastion } from './helpers/bastion.ts';
import { factories } from './helpers/factories.ts';
import { GATEWAY_WORKERS, startWorkerGateway } from './helpers/gatewayWorkers.ts';
import { startSshd, type Sshd } from './helpers/sshd.ts';
import { startGateway, type GatewayHandle, type GatewayStartOptions } from '../gateway/index.ts';
import { ClusterBus } from '../core/bus.ts';
import type { Action, Asset, Permission, SystemUser, User } from '../core/db/entities/index.ts';

export { within } from './helpers/within.ts';

export const ALICE_PASSWORD = 'Wonder-land-2024';

export type GatewayTopology = 'in-process' | 'workers';

export { GATEWAY_WORKERS };

let suiteTopology: GatewayTopology | null = null;

/** The topology startWorld uses when not told: set by useWorkersTopology, else BASTION_TEST_GATEWAY. */
export function gatewayTopology(): GatewayTopology {
  if (suiteTopology) return suiteTopology;
  const v = process.env.BASTION_TEST_GATEWAY;
  if (v === undefined || v === '' || v === 'in-process') return 'in-process';
  if (v === 'workers') return 'workers';
  throw new Error(`BASTION_TEST_GATEWAY must be 'workers' or 'in-process', not '${v}'`);
}

/** The name of the suite a `*.workers.test.ts` file wraps around a gateway suite file. */
export const IN_WORKERS = `gateway in ${GATEWAY_WORKERS} worker processes (as npm start runs it)`;

/**
 * Makes startWorld default to gateway worker processes in this test process. A
 * `*.workers.test.ts` file calls it, then imports a gateway suite file inside
 * `describe(IN_WORKERS, …)`, so that the suite runs again, nested under that name.
 */
export function useWorkersTopology(): void {
  suiteTopology = 'workers';
}

/**
 * Defines tests (with describe/test, in the calling file) that only an in-process gateway can
 * run: they need what only its start options or objects give. Under workers they are not
 * defined at all (a skip would fail npm test). Say why in `reason`; keep these few.
 */
export function inProcessOnly(reason: string, define: () => void): void {
  if (reason.trim() === '') throw new Error('inProcessOnly needs a reason');
  if (gatewayTopology() === 'in-process') define();
}

export interface World {
  bastion: Bastion;
  /** The SSH gateway, wherever it runs: connect to `gw.port`. */
  gw: GatewayHandle;
  topology: GatewayTopology;
  sshd: Sshd;
  f: ReturnType<typeof factories>;
  alice: User;
  web01: Asset;
  su: SystemUser;
  permission: Permission;
  stop(): Promise<void>;
}

export interface WorldOptions {
  env?: Record<string, string>;
  /** Options of an in-process gateway only: a worker reads its config from the environment (use `env`). */
  gateway?: GatewayStartOptions;
  actions?: Action[];
  topology?: GatewayTopology;
  /** Also the HTTP server (API, web app, websockets) in this process, as `bastion start` runs it. */
  http?: boolean;
}

export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const topology = opts.topology ?? gatewayTopology();
  if (topology === 'workers' && opts.gateway) throw new Error('startWorld: gateway options reach an in-process gateway only; set them through env');
  const sshd = await startSshd();
  const bus = topology === 'workers' ? new ClusterBus() : undefined;
  const bastion = await startBastion({ http: opts.http ?? false, env: opts.env ?? {}, ...(bus ? { bus } : {}) });
  const s = bastion.services;
  const f = factories(s);
  const alice = await f.user({ username: 'alice', password: ALICE_PASSWORD });
  const web01 = await f.asset({ name: 'web01', address: sshd.host, port: sshd.port, comment: 'the test web server' });
  const su = await f.systemUser({ name: 'app', username: sshd.username, password: sshd.password, priority: 10 });
  const permission = await f.permission({ users: [alice.id], assets: [web01.id], systemUsers: [su.id], actions: opts.actions ?? ['connect'] });
  // The primary's hooks `bastion start` gives (bin/bastion.ts) that change what the workers' clients see.
  const gw = bus ? await startWorkerGateway(bastion.config, bastion.env, bus, { connections: s.sshConnections }) : await startGateway(s, { port: 0, host: '127.0.0.1', ...opts.gateway });
  return {
    bastion, gw, topology, sshd, f, alice, web01, su, permission,
    async stop() {
      try {
        // Fails when a gateway worker crashed during the suite: the rest still stops.
        await gw.close();
      } finally {
        await bastion.stop();
        await sshd.stop();
      }
    },
  };
}

export const QUIET = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'];

/** `ssh` with a password through sshpass (keyboard-interactive or password, as OpenSSH prefers). */
export function sshPassword(port: number, login: string, password: string, args: string[], opts: ExecaOptions = {}): Promise<Result> {
  return execa('sshpass', [
    '-p', password, 'ssh', ...QUIET, '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1',
    '-p', String(port), `${login}@127.0.0.1`, ...args,
  ], { reject: false, timeout: 30_000, ...opts }) as Promise<Result>;
}

/** `ssh` with a key, no password prompts. */
export function sshKey(port: number, login: string, keyPath: string, args: string[], opts: ExecaOptions = {}): Promise<Result> {
  return execa('ssh', [
    ...QUIET, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no',
    '-i', keyPath, '-p', String(port), `${login}@127.0.0.1`, ...args,
  ], { reject: false, timeout: 30_000, ...opts }) as Promise<Result>;
}

/** What ssh2 says when the server refused every method: the login was refused, the gateway did not just drop the connection. */
export const AUTH_REFUSED = /All configured authentication methods failed/;

/** An ssh2 client; resolves on `ready`, rejects with the authentication error. */
export function ssh2Login(port: number, config: ConnectConfig): Promise<InstanceType<typeof ssh2.Client>> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.once('ready', () => resolve(client));
    // ssh2 may report several errors for one failed login; the first one decides.
    client.on('error', (err) => {
      client.end();
      reject(err);
    });
    client.connect({ host: '127.0.0.1', port, readyTimeout: 20_000, ...config });
  });
}

/** Collects what a channel prints and waits for text to appear in it. */
export class Screen {
  text = '';
  #waiters: Array<() => void> = [];
  closed = false;

  constructor(readonly stream: ClientChannel) {
    const add = (chunk: Buffer) => {
      this.text += chunk.toString('utf8');
      for (const w of this.#waiters) w();
    };
    stream.on('data', add);
    stream.stderr.on('data', add);
    stream.on('close', () => {
      this.closed = true;
      for (const w of this.#waiters) w();
    });
  }

  /** Resolves with the text after `from` once `pattern` appears there; rejects after `ms`. */
  waitFor(pattern: string | RegExp, from = 0, ms = 15_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const seen = this.text.slice(from);
        if (typeof pattern === 'string' ? seen.includes(pattern) : pattern.test(seen)) {
          resolve(seen);
          return true;
        }
        if (this.closed) {
          reject(new Error(`channel closed before ${String(pattern)} appeared; screen:\n${seen}`));
          return true;
        }
        return false;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for ${String(pattern)}; screen:\n${this.text.slice(from)}`));
      }, ms);
      const waiter = () => {
        if (check()) {
          clearTimeout(timer);
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
        }
      };
      this.#waiters.push(waiter);
    });
  }

  /** Types a line and waits for `expect` to appear after it. */
  async send(line: string, expect: string | RegExp): Promise<string> {
    const from = this.text.length;
    this.stream.write(line);
    return this.waitFor(expect, from);
  }

  whenClosed(ms = 15_000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`channel still open; screen:\n${this.text}`)), ms);
      this.stream.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** Opens a shell with a PTY of the given size through an ssh2 client. */
export function openShell(client: InstanceType<typeof ssh2.Client>, size = { rows: 24, cols: 100 }): Promise<Screen> {
  return new Promise((resolve, reject) => {
    client.shell({ term: 'xterm', ...size }, (err, stream) => (err ? reject(err) : resolve(new Screen(stream))));
  });
}

/**
 * Runs a command through an ssh2 client: output, exit status or signal. A channel that does not
 * close within `ms` fails the test with what it printed so far, rather than hanging the file
 * until the runner's timeout, which names no test.
 */
export function ssh2Exec(client: InstanceType<typeof ssh2.Client>, command: string, opts: ssh2.ExecOptions = {}, ms = 90_000): Promise<{ stdout: Buffer; stderr: string; code: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    let stderr = '';
    let code: number | null = null;
    let signal: string | null = null;
    let opened = false;
    // From the channel's open on: a gateway that never answers the open hangs as surely as one that never closes it.
    const timer = setTimeout(() => {
      reject(new Error(`exec of '${command}' did not end within ${ms} ms (${opened ? `channel open, exit ${String(code)}` : 'channel never opened'}); stdout: ${Buffer.concat(out).toString().slice(-500)}; stderr: ${stderr.slice(-500)}`));
    }, ms);
    // A channel left running on purpose must not keep the test process alive.
    timer.unref();
    client.exec(command, opts, (err, stream) => {
      if (err) {
        clearTimeout(timer);
        reject(err);
        return;
      }
      opened = true;
      stream.on('data', (c: Buffer) => out.push(c));
      stream.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      stream.on('exit', (c: number | null, s?: string) => {
        code = c;
        signal = s ?? null;
      });
      stream.on('close', () => {
        clearTimeout(timer);
        resolve({ stdout: Buffer.concat(out), stderr, code, signal });
      });
    });
  });
}

/** Polls `read` until `ok` holds (for effects that land just after the client is done). */
export async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}
