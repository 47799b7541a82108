import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Services } from '../../core/services.ts';
import { isUuid } from '../../core/ids.ts';
import { screenFromCast } from '../../core/audit/castScreen.ts';
import type { Bus, BusMessages } from '../../core/bus.ts';
import { refuse, socketAuthority, socketCaller, type AuthorizedSocket, type UpgradeRoute } from './socketAuthority.ts';

const WATCH_PATH = /^\/ws\/sessions\/([^/]+)\/watch$/;
/**
 * A watch is a lease on the gateway's stream of the session (gateway/watchers.ts), renewed
 * every third of it: if this process dies, the gateway stops publishing within a lease.
 */
export const WATCH_LEASE_MS = 30_000;
/**
 * How long a joining watcher waits for the process holding the session to say it heard the
 * screen request, and then for the screen itself (a long recording takes a while to replay).
 * A session no process holds (its gateway just died) is shown from its recording instead.
 */
const SCREEN_ACK_MS = 1500;
const SCREEN_MS = 60_000;

/** The screen of a live session from the process that holds it (null: none answered in time). */
function askHolder(bus: Bus, sessionId: string): Promise<BusMessages['session.screen'] | null> {
  const requestId = randomUUID();
  return new Promise((resolve) => {
    let timer = setTimeout(() => done(null), SCREEN_ACK_MS);
    const offAck = bus.subscribe('session.screen.ack', (m) => {
      if (m.requestId !== requestId) return;
      clearTimeout(timer);
      timer = setTimeout(() => done(null), SCREEN_MS);
    });
    const offScreen = bus.subscribe('session.screen', (m) => { if (m.requestId === requestId) done(m); });
    function done(m: BusMessages['session.screen'] | null): void {
      clearTimeout(timer);
      offAck();
      offScreen();
      resolve(m);
    }
    bus.publish('session.screen.request', { sessionId, requestId });
  });
}

/** May the caller of `req` watch live sessions now? The same answer as at the upgrade. */
async function mayWatch(services: Services, req: IncomingMessage): Promise<boolean> {
  return 'auth' in (await socketCaller(services, req, 'audit'));
}

/**
 * Live monitoring: an auditor's browser opens /ws/sessions/:id/watch and gets the current
 * screen, then the session's output as it happens. The upgrade is authenticated and
 * authorized exactly like an HTTP request (rule 6), and cross-site upgrades are refused
 * (routeUpgrades).
 */
export function watchSocket(services: Services): UpgradeRoute {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  // Privileges are checked again whenever they may have changed (socketAuthority.ts); a watch
  // that would not be allowed now is closed now.
  const authority = socketAuthority<AuthorizedSocket>(services, (w) => mayWatch(services, w.req));
  return {
    path: WATCH_PATH,
    async upgrade(req, socket, head, m, url) {
      const caller = await socketCaller(services, req, 'audit');
      if (!('auth' in caller)) return refuse(socket, caller.status, caller.status === 401 ? 'Unauthorized' : 'Forbidden');
      const { auth } = caller;
      const id = m[1]!;
      if (!isUuid(id)) return refuse(socket, 400, 'Bad Request');
      const session = await services.sessions.get(id).catch(() => null);
      if (!session) return refuse(socket, 404, 'Not Found');
      if (session.status !== 'active') return refuse(socket, 409, 'Conflict');
      wss.handleUpgrade(req, socket, head, (ws) => {
        const forget = authority.add({ req, userId: auth.user.id, revoke: () => ws.close(1008, 'access revoked') });
        ws.on('close', forget);
        // Keystrokes only for a viewer that asks (?keystrokes=1); the web app does not.
        void watch(ws, services, id, auth.user.username, url.searchParams.get('keystrokes') === '1');
      });
    },
    close() {
      authority.close();
      for (const c of wss.clients) c.close(1001, 'server shutting down');
      wss.close();
    },
  };
}

async function watch(ws: WebSocket, services: Services, sessionId: string, watcher: string, keystrokes: boolean): Promise<void> {
  const log = services.log.child({ component: 'watch', session: sessionId, watcher });
  // Subscribe before asking for the screen, so nothing falls between the two.
  const early: BusMessages['session.stream'][] = [];
  let live = false;
  const send = (msg: unknown) => { if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg)); };
  const forward = (m: BusMessages['session.stream']) => {
    if (m.kind === 'i') {
      // Echoed keystrokes (the gateway never sends echo-off input), for a viewer that asked.
      if (keystrokes) send({ type: 'input', data: m.data });
      return;
    }
    if (m.kind === 'r') {
      const [cols, rows] = m.data.split('x').map(Number);
      send({ type: 'resize', cols, rows });
    } else send({ type: 'output', data: m.data });
  };
  const offStream = services.bus.subscribe('session.stream', (m) => {
    if (m.sessionId !== sessionId) return;
    if (!live) early.push(m);
    else forward(m);
  });
  const offEnded = services.bus.subscribe('session.ended', (m) => {
    if (m.sessionId !== sessionId) return;
    send({ type: 'ended' });
    ws.close(1000, 'session ended');
  });
  let watching = true;
  const watchId = randomUUID();
  const announce = (on: boolean) => services.bus.publish('session.watch', { sessionId, watchId, on, keystrokes, leaseMs: WATCH_LEASE_MS });
  // Announced before the screen is asked for: the holder streams every event after the screen.
  announce(true);
  const renew = setInterval(() => announce(true), WATCH_LEASE_MS / 3);
  renew.unref();
  const cleanup = () => {
    offStream();
    offEnded();
    clearInterval(renew);
    if (watching) announce(false);
    watching = false;
  };
  ws.on('close', cleanup);
  ws.on('error', cleanup);
  ws.on('message', () => { /* read-only: input from watchers is ignored */ });
  log.info('watch started');
  try {
    // The process recording the session knows its screen, whatever the store (an S3 object is
    // readable only once the session ends); the stream goes on after the last event it holds.
    const held = await askHolder(services.bus, sessionId);
    let screen = held?.screen ?? null;
    let after: (m: BusMessages['session.stream']) => boolean = (m) => m.seq > held!.seq;
    if (!held) {
      // No process holds it (its gateway just died): the recording so far, where the store can read it.
      const session = await services.sessions.get(sessionId);
      const name = services.sessions.recordingOf(session);
      screen = await screenFromCast(name ? await services.recordings.read(name).catch(() => null) : null);
      const lastT = screen.t;
      after = (m) => m.t > lastT;
    }
    screen ??= await screenFromCast(null);
    send({ type: 'init', cols: screen.cols, rows: screen.rows, data: screen.data });
    for (const m of early) if (after(m)) forward(m);
    live = true;
    early.length = 0;
  } catch (err) {
    log.warn({ err }, 'watch failed to start');
    ws.close(1011, 'cannot read the session');
  }
}
