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
import { fairReads } from './fairReads.ts';

const { Client } = ssh2;
export type BackendClient = InstanceType<typeof Client>;

export interface BackendLogin {
  /** The password the operator typed, for a system user in `manual` login mode. */
  typedPassword?: string | undefined;
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
    keepaliveInterval: 15_000,
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
    const onError = (err: Error & { level?: string; code?: string }) => {
      client.off('ready', onReady);
      client.end();
      reject(new OperatorError(hostKeyProblem ?? describeFailure(err, where, systemUser.username, asset.name)));
    };
    const onReady = () => {
      client.off('error', onError);
      // Later errors (keepalive timeout, reset) end the channels; they only need logging.
      client.on('error', (err) => log.debug({ err }, 'backend connection error'));
      resolve();
    };
    client.once('ready', onReady);
    client.once('error', onError);
    // Our own socket (ssh2 takes it as `sock` and handles its errors and the ready timeout as
    // with its own), so that its reads can be made to take turns with other sessions'.
    const sock = new Socket();
    fairReads(sock);
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

function describeFailure(err: Error & { level?: string; code?: string }, where: string, username: string, assetName: string): string {
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
  if (/timed out/i.test(err.message)) return `cannot connect to ${where}: timed out`;
  if (err.level === 'client-timeout') return `cannot connect to ${where}: timed out`;
  if (/handshake|algorithm/i.test(err.message)) return `cannot connect to ${where}: no common SSH algorithms`;
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

function tracked(stream: ClientChannel): BackendChannel {
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
