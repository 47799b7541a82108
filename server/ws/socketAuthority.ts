// What every websocket of the server shares (DESIGN rule 6): cross-site upgrades are refused,
// refusals are HTTP answers with the API's error body, and an open socket is authorized again
// on every privilege change — a user revoked (over the bus, from any process), any change to
// users (disable, lock, role), one of the user's web sessions or tokens gone, and on a timer for what changes with
// time alone (account expiry, web session TTL). A socket that would not be allowed now is
// closed now (1008).
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Request } from 'express';
import type { Services } from '../../core/services.ts';
import type { Ability } from '../../core/access/accessService.ts';
import { authenticateRequest, type AuthContext } from '../middleware/authenticate.ts';
import { admissionRefusal } from '../middleware/admission.ts';

/** Also re-checked on a timer, for what changes with time alone (account expiry, web session TTL). */
export const RECHECK_MS = 15_000;

/** Whether the Origin header (when sent) names this very host; `null` and garbage do not. */
export function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * Who sent an upgrade (or the request a socket is held on), if they may hold a socket that
 * needs `access` now: authenticated, and through the same gate as every route (a session that
 * must change its password or enrol MFA first, or a role without the ability, is refused: 403).
 */
export async function socketCaller(services: Services, req: IncomingMessage, access: Ability): Promise<{ auth: AuthContext } | { status: 401 | 403 }> {
  const auth = await authenticateRequest(services, req as unknown as Request);
  if (!auth) return { status: 401 };
  if (await admissionRefusal(services, auth, { access })) return { status: 403 };
  return { auth };
}

export function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: { code: String(status), message } });
  socket.end(`HTTP/1.1 ${status} ${message}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** One open socket, with the upgrade request it was authorized on, to authorize again. */
export interface AuthorizedSocket {
  userId: string;
  /** The request the socket is (now) held on: its cookie or token is what is checked again. */
  req: IncomingMessage;
  /** Closes the socket (1008) and whatever it drives. */
  revoke(reason: string): void;
}

export interface SocketAuthority<S extends AuthorizedSocket> {
  /** Keeps `s` under watch until the returned function is called (the socket closed). */
  add(s: S): () => void;
  close(): void;
}

/**
 * Watches open sockets: `mayStill(s)` is asked again after every change to users and every
 * RECHECK_MS, and for one user's sockets when one of their web sessions or tokens ends;
 * `user.revoked` closes that user's sockets without asking.
 */
export function socketAuthority<S extends AuthorizedSocket>(services: Services, mayStill: (s: S) => Promise<boolean>): SocketAuthority<S> {
  const open = new Set<S>();
  const revoke = (s: S, reason: string): void => {
    open.delete(s);
    s.revoke(reason);
  };
  let rechecking = false;
  /** Whose sockets the next pass checks: null is everyone's. */
  let pending: Set<string> | null = new Set();
  const recheck = (userId?: string): void => {
    if (userId === undefined) pending = null;
    else pending?.add(userId);
    // A change seen while a pass runs gets a pass of its own after it.
    if (rechecking) return;
    rechecking = true;
    void (async () => {
      while (pending === null || pending.size > 0) {
        const whose = pending;
        pending = new Set();
        for (const s of [...open]) {
          if (whose !== null && !whose.has(s.userId)) continue;
          const ok = await mayStill(s).catch(() => false);
          if (!ok && open.has(s)) revoke(s, 'access revoked');
        }
      }
    })().finally(() => { rechecking = false; });
  };
  const offChanges = services.changes.subscribe((kind) => { if (kind === 'users' || kind === 'all') recheck(); });
  // A logout or a deleted token concerns the sockets of that one user.
  const offCredentials = services.bus.subscribe('credentials.revoked', (m) => recheck(m.userId));
  const offRevoked = services.bus.subscribe('user.revoked', (m) => {
    for (const s of [...open]) if (s.userId === m.userId) revoke(s, m.reason);
  });
  const timer = setInterval(() => recheck(), RECHECK_MS);
  timer.unref();
  return {
    add(s) {
      open.add(s);
      return () => { open.delete(s); };
    },
    close() {
      offChanges();
      offCredentials();
      offRevoked();
      clearInterval(timer);
      open.clear();
    },
  };
}

/** One websocket endpoint: the paths it answers and how it takes an upgrade on one of them. */
export interface UpgradeRoute {
  path: RegExp;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, match: RegExpExecArray, url: URL): Promise<void>;
  close(): void;
}

/**
 * The server's one `upgrade` listener: each request goes to the route whose path matches,
 * cross-site upgrades and unknown paths are refused; a route that fails answers 500.
 */
export function routeUpgrades(server: Server, routes: UpgradeRoute[]): () => void {
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // A socket that errors before it is handed over must not take the process down (rule 13).
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://bastion');
    for (const route of routes) {
      const m = route.path.exec(url.pathname);
      if (!m) continue;
      if (!sameOrigin(req.headers.origin, req.headers.host)) return refuse(socket, 403, 'Forbidden');
      route.upgrade(req, socket, head, m, url).catch(() => refuse(socket, 500, 'Internal Server Error'));
      return;
    }
    refuse(socket, 404, 'Not Found');
  };
  server.on('upgrade', onUpgrade);
  return () => {
    server.off('upgrade', onUpgrade);
    for (const route of routes) route.close();
  };
}
