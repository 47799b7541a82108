// Step 4 of the pipeline: log in to the asset as the granted system user. Only a Grant
// can be dialled. The backend host key is pinned on first use and a changed key is
// refused (rule 10). Every failure becomes one line the operator can act on.
import { Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig, PseudoTtyOptions } from 'ssh2';
import type { Grant } from '../core/access/grant.ts';
import type { Logger } from '../core/logger.ts';
import type { GatewayContext } from './context.ts';
import { BACKEND_ALGORITHMS } from './algorithms.ts';
import { OperatorError } from './terminalErrors.ts';
import { pooledPadding } from './packetPadding.ts';
import { relaySocket } from './relaySocket.ts';
import { lowerReadBuffer, lowerWriteBuffer } from './streamBuffers.ts';

const { Client } = ssh2;
export type BackendClient = InstanceType<typeof Client>;

export interface BackendLogin {
  /** The password the operator typed, for a system user in `manual` login mode. */
  typedPassword?: string | undefined;
}

/** Bytes a backend may send before the login completes (identification, greeting lines, key exchange, banner). */
const MAX_PRE_LOGIN_BYTES = 256 * 1024;

/** Why an established backend connection was lost (keepalive timeout, reset), once it was. */
const lostReasons = new WeakMap<BackendClient, string>();

/** One line for the operator when the backend connection failed under a running session, else null. */
export function backendLost(client: BackendClient): string | null {
  return lostReasons.get(client) ?? null;
}

function describeLoss(err: BackendFailure): string {
  if (/keepalive/i.test(err.message)) return 'the server stopped answering';
  if (err.code === 'ECONNRESET') return 'the connection was reset';
  if (err.level === 'closed') return 'the server closed the connection';
  return err.message.slice(0, 200);
}

/** Connects and logs in; rejects with an OperatorError naming what went wrong. */
export async function connectBackend(gw: GatewayContext, grant: Grant, login: BackendLogin, log: Logger): Promise<BackendClient> {
  const { asset, systemUser } = grant;
  const credentials = await credentialsFor(gw, grant, login);
  const client = new Client();
  let hostKeyProblem: string | null = null;
  const where = `${asset.name} (${asset.address}:${asset.port})`;

  const config: ConnectConfig = {
    host: asset.address,
    port: asset.port,
    username: systemUser.username,
    ...credentials,
    readyTimeout: gw.options.backendReadyTimeoutMs,
    // A backend that stops answering mid-session is given up after three missed keepalives.
    keepaliveInterval: Math.min(15_000, gw.options.backendReadyTimeoutMs),
    keepaliveCountMax: 3,
    algorithms: BACKEND_ALGORITHMS,
    tryKeyboard: Boolean(credentials.password),
    hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
      gw.services.hostKeys.check(asset.id, key).then((verdict) => {
        if (verdict.ok) {
          if (verdict.pinned) log.info({ fingerprint: verdict.fingerprint }, 'backend host key pinned on first use');
          verify(true);
          return;
        }
        hostKeyProblem = `the host key of ${asset.name} has changed (pinned ${verdict.expected}, offered ${verdict.got}); refusing to connect — an administrator must check the server and clear the pinned key`;
        log.warn({ expected: verdict.expected, got: verdict.got }, 'backend host key mismatch: connection refused');
        verify(false);
      }, (err: unknown) => {
        log.error({ err }, 'host key check failed');
        hostKeyProblem = `the host key of ${asset.name} could not be checked`;
        verify(false);
      });
    },
  };

  client.on('keyboard-interactive', (_name, _instructions, _lang, prompts, finish) => {
    // Servers that only take keyboard-interactive get the password for every prompt.
    finish(prompts.map(() => credentials.password ?? ''));
  });
  client.on('connect', () => client.setNoDelay(true));

  await new Promise<void>((resolve, reject) => {
    // Our own socket (ssh2 takes it as `sock`, handles its errors and runs the ready timeout as
    // with its own), so that its reads can be made to take turns with other sessions'.
    const sock = new Socket();
    let settled = false;
    // One error listener for the client's whole life, never removed: a backend that fails can
    // emit several errors in a row (the ready timeout, then "Connection lost before handshake"
    // as the socket closes), and an 'error' event without a listener kills the process.
    // Everything the backend sends before the login completes is small (identification, key
    // exchange, banner); a peer that floods it is not an SSH server we want to parse for long.
    let preReadyBytes = 0;
    const countPreReady = (chunk: Buffer): void => {
      preReadyBytes += chunk.length;
      if (preReadyBytes > MAX_PRE_LOGIN_BYTES) {
        sock.off('data', countPreReady);
        fail(Object.assign(new Error(`sent more than ${MAX_PRE_LOGIN_BYTES} bytes before the login completed`), { level: 'protocol' }));
      }
    };
    sock.on('data', countPreReady);
    const fail = (err: BackendFailure) => {
      if (settled) {
        if (!lostReasons.has(client)) lostReasons.set(client, describeLoss(err));
        log.info({ err: err.message, level: err.level, code: err.code }, 'backend connection lost');
        return;
      }
      settled = true;
      log.info({ err: err.message, level: err.level, code: err.code }, 'backend connection failed');
      client.end();
      sock.destroy();
      reject(new OperatorError(hostKeyProblem ?? describeFailure(err, where, systemUser.username, asset.name)));
    };
    client.on('error', fail);
    // A backend that hangs up after its identification ends the connection without any error
    // (ssh2 also stops its ready timer then): without this the login would wait forever.
    client.once('close', () => fail(Object.assign(new Error('closed during handshake'), { level: 'closed' })));
    client.once('ready', () => {
      sock.off('data', countPreReady);
      if (settled) return;
      settled = true;
      resolve();
    });
    relaySocket(gw, sock, 'backend');
    pooledPadding(client, gw.padding);
    sock.connect({ host: asset.address, port: asset.port });
    client.connect({ ...config, sock });
  });
  log.debug({ host: asset.address, port: asset.port }, 'backend connected');
  return client;
}

async function credentialsFor(gw: GatewayContext, grant: Grant, login: BackendLogin): Promise<{ password?: string; privateKey?: string }> {
  if (grant.systemUser.loginMode === 'manual') {
    if (!login.typedPassword) throw new OperatorError(`system user ${grant.systemUser.username} needs a password typed at login; connect with a terminal (ssh -t)`);
    return { password: login.typedPassword };
  }
  const row = await gw.services.systemUsers.get(grant.systemUser.id);
  const { password, privateKey } = gw.services.systemUsers.secrets(row);
  if (!password && !privateKey) throw new OperatorError(`system user ${grant.systemUser.username} has no password or key configured; ask an administrator`);
  return {
    ...(privateKey ? { privateKey: privateKey.reveal() } : {}),
    ...(password ? { password: password.reveal() } : {}),
  };
}

type BackendFailure = Error & { level?: string; code?: string };

function describeFailure(err: BackendFailure, where: string, username: string, assetName: string): string {
  if (err.level === 'client-authentication') return `${username} could not log in to ${assetName}: the server refused the credentials`;
  switch (err.code) {
    case 'ECONNREFUSED': return `cannot connect to ${where}: connection refused`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH': return `cannot connect to ${where}: host unreachable`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN': return `cannot connect to ${where}: unknown host name`;
    case 'ETIMEDOUT': return `cannot connect to ${where}: timed out`;
    case 'ECONNRESET': return `cannot connect to ${where}: connection reset`;
    default: break;
  }
  if (err.level === 'client-timeout' || /timed out/i.test(err.message)) return `cannot connect to ${where}: timed out`;
  if (err.level === 'closed' || /Connection lost before handshake/.test(err.message)) return `cannot connect to ${where}: the server closed the connection during the SSH handshake`;
  if (/algorithm/i.test(err.message)) return `cannot connect to ${where}: no common SSH algorithms`;
  // Anything else from the protocol parser (bad identification, bad packet length, too many
  // greeting lines, a MAC that does not verify): the peer is not an SSH server we can talk to.
  if (err.level === 'protocol' || err.level === 'handshake' || err.level === undefined) return `cannot connect to ${where}: the server does not speak SSH`;
  return `cannot connect to ${where}: ${err.message}`;
}

/** How the remote process ended, filled in as soon as the backend says so. */
export interface BackendExit {
  status: number | null;
  signal: string | null;
}

/** A backend channel with its exit info tracked from the first moment (the exit can arrive with the reply). */
export interface BackendChannel {
  stream: ClientChannel;
  exit: BackendExit;
}

/**
 * What a backend channel buffers for a reader that has paused (the pump, while the operator or
 * the recording's hashing is behind) before ssh2 stops refilling the asset's window. ssh2 makes
 * its channels' high-water mark its whole 2 MiB window, so a paused `cat` went on piling up to
 * 3 MiB of the asset's output in the gateway (the window it had granted, then 2 MiB more):
 * packets that waited there long enough to outlive two young collections and die in V8's old
 * generation, where only a full collection frees them (issue 13: a 1 GiB `cat` grew the
 * gateway by 35 MiB, with 19 full collections). With 64 KiB the rest waits at the asset.
 */
export const BACKEND_READ_BUFFER = 64 * 1024;

/**
 * What the operator's input may queue toward the asset while the asset's window is shut before
 * write() says "wait" and the pump pauses the operator (the rest waits at the operator). ssh2's
 * own mark, its 2 MiB window, let an rsync upload queue 2-4 MiB here (issue 13: RSS +47-53 MiB);
 * the pump's 256 KiB budget cost the upload its throughput on a loaded host (0.46-0.59× ProxyJump
 * in one pair of five, where 1 MiB gave 1.20× at worst in ten).
 */
export const BACKEND_WRITE_BUFFER = 1024 * 1024;

function tracked(stream: ClientChannel): BackendChannel {
  lowerReadBuffer(stream, BACKEND_READ_BUFFER);
  lowerReadBuffer(stream.stderr, BACKEND_READ_BUFFER);
  lowerWriteBuffer(stream, BACKEND_WRITE_BUFFER);
  const exit: BackendExit = { status: null, signal: null };
  stream.on('exit', (code: number | null, signal?: string) => {
    if (typeof code === 'number') exit.status = code;
    else if (signal) exit.signal = signal;
  });
  return { stream, exit };
}

/** Opens an interactive shell on the backend. */
export function openShell(client: BackendClient, pty: PseudoTtyOptions | null, env: Record<string, string>): Promise<BackendChannel> {
  return new Promise((resolve, reject) => {
    client.shell(pty ?? false, { env }, (err, stream) => (err ? reject(backendRefused(err, 'a shell')) : resolve(tracked(stream))));
  });
}

/** Runs one command on the backend, with or without a PTY. */
export function openExec(client: BackendClient, command: string, pty: PseudoTtyOptions | null, env: Record<string, string>): Promise<BackendChannel> {
  return new Promise((resolve, reject) => {
    client.exec(command, { env, ...(pty ? { pty } : {}) }, (err, stream) => (err ? reject(backendRefused(err, 'the command')) : resolve(tracked(stream))));
  });
}

function backendRefused(err: Error, what: string): OperatorError {
  return new OperatorError(`the server refused to start ${what}: ${err.message}`);
}
