import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig } from 'ssh2';
import type { HostKeyService } from '../assets/hostKeys.ts';
import type { Secret } from '../vault/secret.ts';

const { Client } = ssh2;
export type RemoteClient = InstanceType<typeof Client>;

export interface RemoteTarget {
  id: string;
  name: string;
  address: string;
  port: number;
}

export interface RemoteAccount {
  username: string;
  password: Secret<string> | null;
  privateKey: Secret<string> | null;
}

export type RemoteFailure = 'refused' | 'unreachable' | 'timeout' | 'auth' | 'host_key' | 'no_secret' | 'other';

/** A login to an asset that failed, with a message an admin can act on. */
export class RemoteLoginError extends Error {
  constructor(readonly kind: RemoteFailure, message: string) {
    super(message);
  }
}

/**
 * Logs in to an asset for the bastion's own work (tests, facts, batch commands), with the
 * same host-key pinning as operator sessions (rule 10).
 */
export async function remoteLogin(target: RemoteTarget, account: RemoteAccount, hostKeys: HostKeyService, timeoutMs = 8000, signal?: AbortSignal): Promise<RemoteClient> {
  if (!account.password && !account.privateKey) throw new RemoteLoginError('no_secret', `${account.username} has no password or key configured`);
  const client = new Client();
  let hostKeyProblem: string | null = null;
  const config: ConnectConfig = {
    host: target.address,
    port: target.port,
    username: account.username,
    ...(account.password ? { password: account.password.reveal() } : {}),
    ...(account.privateKey ? { privateKey: account.privateKey.reveal() } : {}),
    readyTimeout: timeoutMs,
    tryKeyboard: Boolean(account.password),
    hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
      hostKeys.check(target.id, key).then((v) => {
        if (!v.ok) hostKeyProblem = `the host key of ${target.name} has changed (pinned ${v.expected}, offered ${v.got})`;
        verify(v.ok);
      }, () => {
        hostKeyProblem = `the host key of ${target.name} could not be checked`;
        verify(false);
      });
    },
  };
  client.on('keyboard-interactive', (_n, _i, _l, prompts, finish) => finish(prompts.map(() => account.password?.reveal() ?? '')));
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const onAbort = () => fail(new RemoteLoginError('other', 'canceled while it logged in; nothing ran'));
    const fail = (e: RemoteLoginError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      client.end();
      client.destroy();
      reject(e);
    };
    // ssh2's readyTimeout does not cover a TCP connect that never completes everywhere.
    const timer = setTimeout(() => fail(new RemoteLoginError('timeout', `${target.address}:${target.port} did not answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs + 1000);
    // Never removed: a failing backend can emit several errors in a row (the ready timeout, then
    // "Connection lost before handshake"), and an 'error' without a listener ends the process.
    client.on('error', (err: Error & { level?: string; code?: string }) => fail(classify(err, target, account.username, hostKeyProblem)));
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    // A job canceled while it logs in stops waiting for the asset (nothing was started there yet).
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) { onAbort(); return; }
    client.connect(config);
  });
  return client;
}

function classify(err: Error & { level?: string; code?: string }, t: RemoteTarget, username: string, hostKeyProblem: string | null): RemoteLoginError {
  if (hostKeyProblem) return new RemoteLoginError('host_key', hostKeyProblem);
  const where = `${t.address}:${t.port}`;
  if (err.level === 'client-authentication') return new RemoteLoginError('auth', `authentication failed for ${username} on ${t.name}`);
  switch (err.code) {
    case 'ECONNREFUSED': return new RemoteLoginError('refused', `connection refused by ${where} (is sshd running on that port?)`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH': return new RemoteLoginError('unreachable', `${where} is unreachable`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN': return new RemoteLoginError('unreachable', `unknown host name ${t.address}`);
    case 'ETIMEDOUT': return new RemoteLoginError('timeout', `${where} timed out`);
    default: break;
  }
  if (err.level === 'client-timeout' || /timed out/i.test(err.message)) return new RemoteLoginError('timeout', `${where} timed out during the SSH handshake`);
  return new RemoteLoginError('other', `${where}: ${err.message}`);
}

export interface ExecResult {
  exitCode: number | null;
  signal: string | null;
  output: string;
  truncated: boolean;
  /** Killed at the time limit. */
  timedOut: boolean;
}

/** A stopped command is sent KILL this often until the asset closes its channel. */
const KILL_EVERY_MS = 100;
/** How long a stopped command is sent KILL (or its exec awaited) before the bastion lets go of it. */
const KILL_GIVE_UP_MS = 10_000;

/**
 * Runs one command, capturing at most `maxBytes` of combined output. `onOutput` is told the
 * whole output so far each time it grows (for live views).
 *
 * A command that is canceled (`signal`) or outlives `timeoutMs` is killed on the asset, wherever
 * its start has got to (rule 11). Closing the channel alone would leave it running (no PTY, no
 * SIGHUP; sshd keeps the channel while the command holds its stdout); OpenSSH delivers a
 * "signal" request with killpg() on the session's pid, and that process group exists only once
 * sshd's child has called setsid() after its fork — a KILL that arrives before is lost, and the
 * command used to run to its end, reported ok. So KILL is sent again every KILL_EVERY_MS until
 * sshd closes the channel (the command gone); the channel is closed from here only when that
 * does not happen within KILL_GIVE_UP_MS (ssh2 sends no request on a channel it is closing).
 * A stop that comes while the exec is still being opened waits for the channel to kill what it
 * started; an asset that never answers the exec is let go after KILL_GIVE_UP_MS.
 */
export function execCapture(client: RemoteClient, command: string, opts: { maxBytes: number; timeoutMs: number; signal?: AbortSignal; onOutput?: (soFar: () => string) => void }): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    let exitCode: number | null = null;
    let signal: string | null = null;
    let timedOut = false;
    let stream: ClientChannel | null = null;
    /** Why the command is being stopped, once it is. */
    let stopping: string | null = null;
    let killing: NodeJS.Timeout | null = null;
    let givingUp: NodeJS.Timeout | null = null;
    let settled = false;
    const soFar = () => Buffer.concat(chunks).toString('utf8');
    const take = (d: Buffer) => {
      if (size >= opts.maxBytes) { truncated = true; return; }
      const part = d.subarray(0, opts.maxBytes - size);
      if (part.length < d.length) truncated = true;
      chunks.push(part);
      size += part.length;
      opts.onOutput?.(soFar);
    };
    /** Settles: no timer, interval or listener of this command's is left behind. */
    const release = () => {
      settled = true;
      clearTimeout(timer);
      if (killing) clearInterval(killing);
      if (givingUp) clearTimeout(givingUp);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    const finish = () => {
      if (settled) return;
      release();
      resolve({ exitCode, signal, output: soFar(), truncated, timedOut });
    };
    const kill = (channel: ClientChannel) => {
      channel.signal('KILL');
      killing = setInterval(() => channel.signal('KILL'), KILL_EVERY_MS);
    };
    const stop = (why: string) => {
      if (stopping !== null || settled) return;
      stopping = why;
      take(Buffer.from(`\n[${why}]\n`));
      signal = signal ?? 'KILL';
      if (stream) kill(stream);
      givingUp = setTimeout(() => {
        if (killing) clearInterval(killing);
        killing = null;
        take(Buffer.from(`[the asset did not confirm the command ended within ${KILL_GIVE_UP_MS / 1000} s]\n`));
        stream?.close();
        finish();
      }, KILL_GIVE_UP_MS);
    };
    // Both run from before the exec is sent: a time limit or a cancel that comes while the
    // channel opens is not lost, it kills what the exec starts.
    const timer = setTimeout(() => { timedOut = true; stop(`timed out after ${Math.round(opts.timeoutMs / 1000)} s`); }, opts.timeoutMs);
    const onAbort = () => stop('canceled');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    client.exec(command, (err, channel) => {
      if (settled) {
        // Given up on before the asset answered: end what it may have started with the connection.
        channel?.close();
        return;
      }
      if (err) {
        release();
        reject(new RemoteLoginError('other', `the server refused to run the command: ${err.message}`));
        return;
      }
      stream = channel;
      channel.on('data', take);
      channel.stderr.on('data', take);
      channel.on('exit', (code: number | null, sig?: string) => { exitCode = code; signal = sig ?? signal; });
      channel.on('close', finish);
      if (stopping !== null) kill(channel);
    });
  });
}
