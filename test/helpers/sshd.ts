// Starts a real OpenSSH sshd (Debian openssh-server) on a free loopback port to
// play a backend server. Each instance has its own temp dir, config, host key
// and client keypair; all log in to one local Linux test account.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { freePort } from './ports.ts';
import { makeTempDir } from './tmp.ts';

export const SSHD_BIN = '/usr/sbin/sshd';
export const TEST_USERNAME = 'bastiont';
export const TEST_PASSWORD = 'Bastion-test-pw-1';

export interface SshdOptions {
  /** Reuse this host private key (copied into the instance's dir) instead of generating one. */
  hostKeyPath?: string;
  /** Local account to log in to; created if missing. Default `bastiont`. */
  username?: string;
  /** Its password (set with chpasswd). Default TEST_PASSWORD. */
  password?: string;
  /**
   * Run sshd with `UsePAM yes` (Debian's /etc/pam.d/sshd: pam_env, pam_motd,
   * pam_loginuid…). Default false: password auth against /etc/shadow works
   * without PAM when sshd runs as root, and the backend environment stays
   * free of /etc/environment and /etc/default/locale.
   */
  usePam?: boolean;
  /** Extra sshd_config lines, appended last. */
  extraConfig?: string[];
  /** Extra environment for sshd itself (e.g. a test's LD_PRELOAD); its sessions' commands do not get it. */
  env?: Record<string, string>;
}

export interface Sshd {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** Client private key in OpenSSH format, authorized for `username`. */
  readonly privateKey: string;
  /** Client public key line (`ssh-ed25519 AAAA… comment`). */
  readonly publicKey: string;
  readonly privateKeyPath: string;
  /** `SHA256:…` exactly as `ssh-keygen -lf` prints it. Changes after restartWithNewHostKey(). */
  readonly hostKeyFingerprint: string;
  /** Host public key as `ssh-ed25519 AAAA…` (no comment). */
  readonly hostPublicKey: string;
  /** Path of the host private key sshd is using. */
  readonly hostKeyPath: string;
  readonly dir: string;
  /** Everything sshd has written to stderr (-e, LogLevel VERBOSE) so far. */
  log(): string;
  /** Adds another public key to the account's authorized_keys for this sshd. */
  authorizeKey(publicKey: string): void;
  /**
   * SIGSTOPs every process of this sshd's open connections (not the listener): the asset stops
   * answering, as a hung disk would make it; the returned function SIGCONTs them.
   */
  freezeConnections(): () => void;
  /** Stops and starts again on the same port with the same host key. */
  restart(): Promise<void>;
  /** Stops and starts again on the same port with a freshly generated host key. */
  restartWithNewHostKey(): Promise<void>;
  /** Kills sshd and its connection processes and waits for exit. Idempotent. The dir stays until tmp cleanup(). */
  stop(): Promise<void>;
}

/** Why startSshd cannot work here, or undefined when it can. For `t.skip(reason)`. */
export function sshdUnavailable(): string | undefined {
  // Lets scripts/test.sh's skip guard be tried on a machine that has everything.
  if (process.env.BASTION_TEST_NO_SSHD === '1') return 'BASTION_TEST_NO_SSHD=1: sshd treated as unavailable';
  if (process.getuid?.() !== 0) {
    return 'tests with a real sshd need root (to create the local test account and run sshd)';
  }
  if (!existsSync(SSHD_BIN)) return `${SSHD_BIN} is missing (apt-get install openssh-server)`;
  return undefined;
}

export async function startSshd(opts: SshdOptions = {}): Promise<Sshd> {
  const reason = sshdUnavailable();
  if (reason) throw new Error(`startSshd: ${reason}`);

  const username = opts.username ?? TEST_USERNAME;
  const password = opts.password ?? TEST_PASSWORD;
  await ensureAccount(username, password);
  // Privilege separation dir; systemd creates it on a normal host, containers lack it.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const dir = makeTempDir('bastion-sshd-');
  // sshd reads authorized_keys as the target user, so the dir must be traversable.
  chmodSync(dir, 0o755);

  const hostKeyPath = join(dir, 'ssh_host_ed25519_key');
  if (opts.hostKeyPath) {
    copyFileSync(opts.hostKeyPath, hostKeyPath);
    chmodSync(hostKeyPath, 0o600);
    const { stdout } = await execa('ssh-keygen', ['-y', '-f', hostKeyPath]);
    writeFileSync(`${hostKeyPath}.pub`, `${stdout.trim()}\n`);
  } else {
    await generateKey(hostKeyPath, 'bastion-test-host');
  }

  const privateKeyPath = join(dir, 'id_ed25519');
  await generateKey(privateKeyPath, `${username}@bastion-test`);
  const publicKey = readFileSync(`${privateKeyPath}.pub`, 'utf8').trim();
  const authorizedKeysPath = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeysPath, `${publicKey}\n`, { mode: 0o644 });

  const instance = new SshdInstance({
    dir,
    username,
    password,
    privateKeyPath,
    privateKey: readFileSync(privateKeyPath, 'utf8'),
    publicKey,
    hostKeyPath,
    authorizedKeysPath,
    usePam: opts.usePam ?? false,
    extraConfig: opts.extraConfig ?? [],
    env: opts.env ?? {},
  });
  await instance.readHostKey();
  await instance.startOnFreePort();
  return instance;
}

interface InstanceSetup {
  dir: string;
  username: string;
  password: string;
  privateKeyPath: string;
  privateKey: string;
  publicKey: string;
  hostKeyPath: string;
  authorizedKeysPath: string;
  usePam: boolean;
  extraConfig: string[];
  env: Record<string, string>;
}

const running = new Set<ChildProcess>();

// If a test file dies without stop(), do not leave sshd listening. Prepended so
// it runs before tmp.ts removes the directories.
process.prependListener('exit', () => {
  for (const child of running) killTree(child);
});

class SshdInstance implements Sshd {
  readonly host = '127.0.0.1' as const;
  port = 0;
  hostKeyFingerprint = '';
  hostPublicKey = '';
  readonly username: string;
  readonly password: string;
  readonly privateKey: string;
  readonly publicKey: string;
  readonly privateKeyPath: string;
  readonly hostKeyPath: string;
  readonly dir: string;
  private readonly setup: InstanceSetup;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stderr = '';

  constructor(setup: InstanceSetup) {
    this.setup = setup;
    this.username = setup.username;
    this.password = setup.password;
    this.privateKey = setup.privateKey;
    this.publicKey = setup.publicKey;
    this.privateKeyPath = setup.privateKeyPath;
    this.hostKeyPath = setup.hostKeyPath;
    this.dir = setup.dir;
  }

  log(): string {
    return this.stderr;
  }

  freezeConnections(): () => void {
    const root = this.child?.pid;
    const frozen = root === undefined ? [] : descendants(root);
    for (const pid of frozen) signal(pid, 'SIGSTOP');
    return () => {
      for (const pid of frozen) signal(pid, 'SIGCONT');
    };
  }

  authorizeKey(publicKey: string): void {
    appendFileSync(this.setup.authorizedKeysPath, `${publicKey.trim()}\n`);
  }

  async readHostKey(): Promise<void> {
    const pub = readFileSync(`${this.hostKeyPath}.pub`, 'utf8').trim();
    this.hostPublicKey = pub.split(/\s+/).slice(0, 2).join(' ');
    const { stdout } = await execa('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${this.hostKeyPath}.pub`]);
    const fingerprint = stdout.split(/\s+/)[1];
    if (!fingerprint?.startsWith('SHA256:')) throw new Error(`startSshd: cannot parse fingerprint from "${stdout}"`);
    this.hostKeyFingerprint = fingerprint;
  }

  async startOnFreePort(): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await this.startOn(await freePort());
        return;
      } catch (err) {
        lastError = err;
        // Another process took the port between freePort() and sshd's bind: try another.
        if (!/Address already in use/i.test(String(err))) throw err;
      }
    }
    throw lastError;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.startOn(this.port);
  }

  async restartWithNewHostKey(): Promise<void> {
    await this.stop();
    rmSync(this.hostKeyPath, { force: true });
    rmSync(`${this.hostKeyPath}.pub`, { force: true });
    await generateKey(this.hostKeyPath, 'bastion-test-host');
    await this.readHostKey();
    await this.startOn(this.port);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    // Connection processes call setsid(), so a process-group kill misses them,
    // and they hold the stderr pipe open: kill the whole tree.
    killTree(child);
    running.delete(child);
    // Should sshd have died earlier, orphaned connection processes could still
    // hold stderr open; do not wait on them forever.
    const timer = setTimeout(() => child.stderr?.destroy(), 5000);
    await this.exited;
    clearTimeout(timer);
  }

  private writeConfig(port: number): string {
    const { dir, authorizedKeysPath, usePam, extraConfig } = this.setup;
    const lines = [
      // sshd keeps the first value it reads for a keyword, so extra lines go first and win.
      ...extraConfig,
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${this.hostKeyPath}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeysPath}`,
      'StrictModes no',
      `UsePAM ${usePam ? 'yes' : 'no'}`,
      'PasswordAuthentication yes',
      `KbdInteractiveAuthentication ${usePam ? 'yes' : 'no'}`,
      'PubkeyAuthentication yes',
      'PermitEmptyPasswords no',
      'PermitRootLogin no',
      'Subsystem sftp internal-sftp',
      // Deliberately permissive: tests prove the gateway strips these.
      'AcceptEnv LANG LC_* TERM LD_PRELOAD BASTION_*',
      'MaxStartups 100:30:200',
      'MaxSessions 100',
      'MaxAuthTries 20',
      'LoginGraceTime 30',
      'UseDNS no',
      'PrintMotd no',
      'PrintLastLog no',
      'AllowTcpForwarding yes',
      'AllowAgentForwarding yes',
      'X11Forwarding no',
      'PermitTTY yes',
      'LogLevel VERBOSE',
    ];
    const configPath = join(dir, 'sshd_config');
    writeFileSync(configPath, `${lines.join('\n')}\n`);
    return configPath;
  }

  private async startOn(port: number): Promise<void> {
    const configPath = this.writeConfig(port);
    this.port = port;
    this.stderr = '';
    const child = spawn(SSHD_BIN, ['-D', '-e', '-f', configPath], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...this.setup.env },
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
      if (this.stderr.length > 1_000_000) this.stderr = this.stderr.slice(-500_000);
    });
    // 'close' waits for the process and the stderr stream, so the log is complete.
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
    this.child = child;
    running.add(child);

    try {
      await waitForBanner(port, child, 10_000);
    } catch (err) {
      await this.stop();
      throw new Error(`startSshd: sshd on port ${port} did not come up: ${(err as Error).message}\n--- sshd log ---\n${this.stderr}`);
    }
  }
}

/**
 * SIGKILLs sshd and every process below it (per-connection monitors, their
 * unprivileged children, the users' shells). Everything found is SIGSTOPped
 * first so nothing can fork or be reparented to init between listing and killing.
 */
function killTree(child: ChildProcess): void {
  const root = child.pid;
  if (root === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const stopped = new Set<number>([root]);
  signal(root, 'SIGSTOP');
  for (let round = 0; round < 10; round++) {
    const found = descendants(root).filter((pid) => !stopped.has(pid));
    if (found.length === 0) break;
    for (const pid of found) {
      stopped.add(pid);
      signal(pid, 'SIGSTOP');
    }
  }
  for (const pid of stopped) signal(pid, 'SIGKILL');
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Live descendants of a pid, from /proc/<pid>/stat parent links. */
function descendants(root: number): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid ..." where comm may contain spaces and parentheses.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === 'Z' || ppid === undefined) continue;
    const list = childrenOf.get(Number(ppid)) ?? [];
    list.push(Number(name));
    childrenOf.set(Number(ppid), list);
  }
  const result: number[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const c of childrenOf.get(pid) ?? []) {
      result.push(c);
      queue.push(c);
    }
  }
  return result;
}

async function generateKey(path: string, comment: string): Promise<void> {
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
}

/** Resolves once a TCP connection to the port gets an `SSH-` identification line. */
async function waitForBanner(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`sshd exited (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    if (await readBanner(port)) return;
    if (Date.now() > deadline) throw new Error(`no SSH banner after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function readBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (data.includes('\n')) done(data.startsWith('SSH-'));
    });
  });
}

const accounts = new Map<string, Promise<void>>();

/** Creates the local account if missing and sets its password, once per process and name. */
function ensureAccount(username: string, password: string): Promise<void> {
  const key = `${username}\0${password}`;
  let pending = accounts.get(key);
  if (!pending) {
    pending = createAccount(username, password);
    accounts.set(key, pending);
    pending.catch(() => accounts.delete(key));
  }
  return pending;
}

async function createAccount(username: string, password: string): Promise<void> {
  const exists = await execa('id', ['-u', username], { reject: false });
  if (exists.exitCode !== 0) {
    // Exit code 9: created meanwhile by a concurrent test process.
    const created = await execa('useradd', ['-m', '-s', '/bin/bash', username], { reject: false });
    if (created.exitCode !== 0 && created.exitCode !== 9) {
      throw new Error(`startSshd: useradd ${username} failed: ${created.stderr}`);
    }
  }
  await execa('chpasswd', { input: `${username}:${password}\n` });
}
