// One operator's SSH connection: authentication first (auth.ts), then each channel and
// global request is routed to its handler or refused (rule 3). The client address is the
// socket's peer (rule 4): the gateway speaks no proxy protocol.
import type { ClientInfo, Connection, ServerChannel } from 'ssh2';
import type { SshGatewayContext, SshOperator } from './context.ts';
import { ConnectionAuth } from './auth.ts';
import { handleSession } from './channels/session.ts';
import { handleTunnel } from './channels/tunnel.ts';
import { connectionKey } from './preAuth.ts';
import { DISCONNECT_REASON, disconnectWith } from './disconnectWith.ts';
import { ChannelSlots } from './channelSlots.ts';
import { PROHIBITED, refuse } from './channelOpenRefusal.ts';
import { RefusalLog } from './refusalLog.ts';
import { UnusedConnectionTimer } from './unusedConnection.ts';

const DATABASE_DOWN_LINE = '[bastion] the bastion cannot reach its database; try again shortly';
const AUTH_TRIES_LINE = '[bastion] too many authentication attempts';

export interface TrackedConnection {
  end(): void;
  closed: Promise<void>;
}

export function handleConnection(gw: SshGatewayContext, client: Connection, info: ClientInfo): TrackedConnection {
  const clientAddress = info.ip;
  let log = gw.log.child({ client: clientAddress });
  // Interactive sessions want every keystroke sent at once.
  (client as Connection & { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
  const auth = new ConnectionAuth(gw.services, clientAddress, log, gw.services.config.maxAuthTries, () => {
    log.warn({ maxAuthTries: gw.services.config.maxAuthTries }, 'too many authentication attempts; disconnecting');
    disconnectWith(client, DISCONNECT_REASON.NO_MORE_AUTH_METHODS_AVAILABLE, AUTH_TRIES_LINE);
  }, () => disconnectWith(client, DISCONNECT_REASON.SERVICE_NOT_AVAILABLE, DATABASE_DOWN_LINE),
  (line) => disconnectWith(client, DISCONNECT_REASON.TOO_MANY_CONNECTIONS, line));
  let operator: SshOperator | null = null;
  const refusals = new RefusalLog(() => log);
  // The login grace time and the start-up count run from TCP accept (preAuth.ts).
  let unwatch: (() => void) | null = null;
  // Resolved once the connection is closed and its records are done (its slot among the user's
  // connections given back), so that a gateway shutting down waits for them before the database goes.
  let recordsDone: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (recordsDone = resolve));
  // Channels one connection holds at once (rule 13; OpenSSH's MaxSessions): counted from
  // channel-open, so a channel at the menu or still being authorized counts too.
  const { maxSessionsPerConnection, maxTunnelsPerConnection } = gw.services.config;
  const sessionSlots = new ChannelSlots(maxSessionsPerConnection);
  const tunnelSlots = new ChannelSlots(maxTunnelsPerConnection);
  const unusedMs = gw.services.config.unusedConnectionTimeoutSeconds * 1000;
  const unused = new UnusedConnectionTimer(unusedMs, () => {
    log.info({ seconds: unusedMs / 1000 }, 'connection closed: no channel open for the unused-connection timeout');
    disconnectWith(client, DISCONNECT_REASON.BY_APPLICATION, `[bastion] connection closed: no session or tunnel was open for ${unusedMs / 1000} s`);
  });
  /** A channel's slot, also counted as use of the connection; the release gives back both. */
  const counted = (release: (() => void) | null): (() => void) | null => {
    if (!release) return null;
    const done = unused.opened();
    return () => {
      release();
      done();
    };
  };

  client.on('authentication', (ctx) => auth.handle(ctx));
  client.on('ready', () => {
    gw.preAuth.authenticated(connectionKey(info.ip, info.port));
    const login = auth.login;
    if (!login) {
      client.end();
      return;
    }
    log = log.child({ user: login.user.username });
    operator = { user: login.user, target: login.target, clientAddress, face: 'ssh', connection: client, log, refusals };
    unwatch = gw.sessions.watch({
      userId: login.user.id,
      username: login.user.username,
      kick: (reason) => {
        log.info({ reason }, 'connection ended by the gateway');
        // Said at the connection too: `ssh -N`, a ControlMaster or a tunnel has no terminal to print the sessions' last words.
        disconnectWith(client, DISCONNECT_REASON.BY_APPLICATION, `[bastion] connection closed: ${reason}`);
      },
    });
    unused.start();
  });
  client.on('session', (accept, reject) => {
    if (!operator) return reject();
    const release = counted(sessionSlots.take());
    if (!release) {
      refusals.note('session channel', 'info', { limit: maxSessionsPerConnection }, 'session channel refused: too many on this connection');
      return refuse(client, reject, PROHIBITED, `too many sessions on this connection (at most ${maxSessionsPerConnection})`);
    }
    const session = accept();
    // ssh2 emits it once the channel is closed both ways, whoever closed it first.
    session.once('close', release);
    handleSession(gw, operator, session);
  });
  client.on('tcpip', (accept, reject, req) => {
    if (!operator) return reject();
    const op = operator;
    const release = counted(tunnelSlots.take());
    if (!release) {
      refusals.note('tunnel', 'info', { limit: maxTunnelsPerConnection }, 'tunnel refused: too many on this connection');
      return refuse(client, reject, PROHIBITED, `too many tunnels on this connection (at most ${maxTunnelsPerConnection})`);
    }
    let accepted = false;
    const acceptCounted = (): ServerChannel => {
      accepted = true;
      const channel = accept();
      channel.once('close', release);
      return channel;
    };
    const rejectCounted = (): void => {
      if (!accepted) release();
      reject();
    };
    handleTunnel(gw, op, acceptCounted, rejectCounted, req).catch((err: unknown) => {
      refusals.note('tunnel', 'warn', { err }, 'tunnel refused');
      try {
        rejectCounted();
      } catch {
        // already answered
      }
    });
  });
  // tcpip-forward, streamlocal forwarding: refused.
  client.on('request', (_accept, reject, name) => {
    refusals.note('global request', 'info', { request: String(name).slice(0, 64) }, 'global request refused');
    reject?.();
  });
  client.on('error', (err) => log.debug({ err }, 'client connection error'));
  client.once('close', () => {
    unwatch?.();
    refusals.closed();
    unused.stop();
    auth.connectionClosed()
      .catch((err: unknown) => log.error({ err }, 'the connection\'s login-log row or slot could not be written'))
      .finally(recordsDone);
  });
  return { end: () => client.end(), closed };
}
