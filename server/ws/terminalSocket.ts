// The web terminal's websocket: /ws/terminal?asset=<name>&systemUser=<name>&cols=&rows=. The
// upgrade is authenticated like any request (session cookie, rule 6), same-origin only
// (routeUpgrades), and refused (403) unless core/access grants `connect` on the asset to the
// caller; the socket is authorized again on every privilege change (socketAuthority.ts). The
// shell itself runs through the gateway's channel pipeline (gateway/web/webShell.ts) in this
// process's session host, whose registry the bus reaches: terminate, live view, revocation
// and idle time work on web sessions as on SSH ones, whichever process the admin is on.
//
// A socket that drops (not closed by the server) leaves the shell running for
// BASTION_WEB_TERMINAL_RECONNECT_SECONDS: the browser reconnects with ?resume=<token> (from its
// `ready` message) as the same user and gets the same shell back.
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Request } from 'express';
import { z } from 'zod';
import type { Services } from '../../core/services.ts';
import type { User } from '../../core/db/entities/index.ts';
import type { SessionHost } from '../../gateway/sessionHost.ts';
import type { LiveSession } from '../../gateway/liveSession.ts';
import type { Operator } from '../../gateway/context.ts';
import { findAsset, systemUsersFor } from '../../gateway/targets.ts';
import { WebChannel } from '../../gateway/web/webChannel.ts';
import { runWebShell, webTerminalState } from '../../gateway/web/webShell.ts';
import { clientAddressResolver } from '../middleware/clientAddress.ts';
import { refuse, socketAuthority, socketCaller, type AuthorizedSocket, type UpgradeRoute } from './socketAuthority.ts';

export const TERMINAL_PATH = /^\/ws\/terminal$/;

const TerminalQuery = z.object({
  asset: z.string().min(1).max(256).optional(),
  systemUser: z.string().min(1).max(64).optional(),
  cols: z.coerce.number().int().min(1).max(1000).default(80),
  rows: z.coerce.number().int().min(1).max(1000).default(24),
  resume: z.string().regex(/^[A-Za-z0-9_-]{43}$/).optional(),
});

/** How long the terminal shows the last words (a revocation's reason) before the socket closes. */
const LAST_WORDS_MS = 300;

/** May this request still drive a terminal? Admitted as for any route; the grant is the session registry's (rule 11). */
async function mayUseTerminal(services: Services, req: IncomingMessage): Promise<boolean> {
  return 'auth' in (await socketCaller(services, req, 'self'));
}

/** Does core/access grant `user` connect on the asset (as the system user, when named)? */
async function mayConnect(services: Services, user: User, asset: string, systemUser: string | null): Promise<boolean> {
  const granted = await services.access.granted(user.id);
  try {
    systemUsersFor(findAsset(granted, asset), 'connect', systemUser, asset);
    return true;
  } catch {
    return false;
  }
}

/** One browser terminal: its shell's channel, the socket attached now (if any), and its resume token. */
class OpenTerminal implements AuthorizedSocket {
  readonly token = randomBytes(32).toString('base64url');
  ws: WebSocket | null = null;
  live: LiveSession | null = null;
  #grace: NodeJS.Timeout | null = null;
  #revoked = false;

  constructor(readonly userId: string, public req: IncomingMessage, readonly channel: WebChannel, private readonly reconnectMs: number) {}

  attach(ws: WebSocket, req: IncomingMessage): void {
    if (this.#grace) clearTimeout(this.#grace);
    this.#grace = null;
    if (this.ws && this.ws !== ws) this.ws.close(4000, 'reconnected elsewhere');
    this.ws = ws;
    this.req = req;
    this.channel.attach(ws, { type: 'ready', resume: this.token, reconnectSeconds: this.reconnectMs / 1000 });
    ws.on('close', (code) => this.#dropped(ws, code));
    ws.on('error', () => ws.terminate());
  }

  /**
   * The socket went: a browser that closed it (1000: the tab was closed) ends the session; one
   * that dropped waits for a reconnect.
   */
  #dropped(ws: WebSocket, code: number): void {
    this.channel.detach(ws);
    if (this.ws !== ws) return;
    this.ws = null;
    if (this.channel.finished || this.channel.destroyed) return;
    if (this.#revoked || this.reconnectMs === 0 || code === 1000) {
      this.channel.destroy();
      return;
    }
    this.#grace = setTimeout(() => this.channel.destroy(), this.reconnectMs);
    this.#grace.unref();
  }

  /** Its privileges were withdrawn: its resume token no longer works, even during the last words. */
  get revoked(): boolean {
    return this.#revoked;
  }

  /** Privileges withdrawn: the session ends with the reason on the terminal, then the socket closes (1008). */
  revoke(reason: string): void {
    if (this.#revoked) return;
    this.#revoked = true;
    const closeReason = Buffer.from(reason).subarray(0, 120).toString();
    this.channel.closeWith = { code: 1008, reason: closeReason };
    this.live?.terminate(reason, { by: 'access' });
    setTimeout(() => {
      this.ws?.close(1008, closeReason);
      this.channel.destroy();
    }, LAST_WORDS_MS).unref();
  }

  close(): void {
    if (this.#grace) clearTimeout(this.#grace);
    this.channel.destroy();
  }
}

export function terminalSocket(services: Services, host: SessionHost): UpgradeRoute {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const log = services.log.child({ component: 'webterminal' });
  const clientAddress = clientAddressResolver(services.config.trustProxy);
  const reconnectMs = services.config.webTerminalReconnectSeconds * 1000;
  const authority = socketAuthority<OpenTerminal>(services, (t) => mayUseTerminal(services, t.req));
  /** Terminals by resume token, while their shell runs. */
  const terminals = new Map<string, OpenTerminal>();

  const start = (ws: WebSocket, req: IncomingMessage, user: User, q: z.infer<typeof TerminalQuery>): void => {
    const state = webTerminalState({ cols: q.cols, rows: q.rows });
    const channel = new WebChannel((cols, rows) => state.resize(cols, rows, 0, 0));
    const t = new OpenTerminal(user.id, req, channel, reconnectMs);
    const address = clientAddress(req as unknown as Request);
    const op: Operator = {
      user, face: 'web', clientAddress: address,
      target: { username: user.username, asset: q.asset ?? null, systemUser: q.systemUser ?? null },
      log: log.child({ user: user.username, client: address }),
      onSession: (live) => {
        t.live = live;
        channel.sessionEnd = () => live.termination?.reason ?? null;
        channel.control({ type: 'session', id: live.id });
      },
    };
    terminals.set(t.token, t);
    const forget = authority.add(t);
    // The registry kicks the web terminals of a user who may no longer log in, as it does SSH connections.
    const unwatch = host.gw.sessions.watch({ userId: user.id, username: user.username, kick: (reason) => t.revoke(reason) });
    t.attach(ws, req);
    op.log.info({ asset: q.asset, systemUser: q.systemUser }, 'web terminal opened');
    void runWebShell(host.gw, op, channel, state)
      .catch((err: unknown) => op.log.error({ err }, 'web terminal failed'))
      .finally(() => {
        terminals.delete(t.token);
        forget();
        unwatch();
        // The exit frame goes out when a socket is attached; a detached one gets its grace time to come back for it.
        if (channel.finished) channel.destroy();
        else channel.once('finish', () => channel.destroy());
        op.log.info('web terminal closed');
      });
  };

  return {
    path: TERMINAL_PATH,
    async upgrade(req, socket, head, _m, url) {
      const caller = await socketCaller(services, req, 'self');
      if (!('auth' in caller)) return refuse(socket, caller.status, caller.status === 401 ? 'Unauthorized' : 'Forbidden');
      const { auth } = caller;
      const parsed = TerminalQuery.safeParse(Object.fromEntries(url.searchParams));
      if (!parsed.success) return refuse(socket, 400, 'Bad Request');
      const q = parsed.data;
      if (q.resume) {
        const t = terminals.get(q.resume);
        // Another user's token reads like an unknown one; so does the token of a terminal whose privileges were withdrawn.
        if (!t || t.userId !== auth.user.id || t.channel.destroyed || t.revoked) return refuse(socket, 404, 'Not Found');
        wss.handleUpgrade(req, socket, head, (ws) => t.attach(ws, req));
        return;
      }
      if (!q.asset) return refuse(socket, 400, 'Bad Request');
      // "No such asset" and "not allowed" read the same (no oracle).
      if (!(await mayConnect(services, auth.user, q.asset, q.systemUser ?? null))) return refuse(socket, 403, 'Forbidden');
      wss.handleUpgrade(req, socket, head, (ws) => start(ws, req, auth.user, q));
    },
    close() {
      authority.close();
      for (const t of terminals.values()) t.close();
      for (const c of wss.clients) c.close(1001, 'server shutting down');
      wss.close();
    },
  };
}
