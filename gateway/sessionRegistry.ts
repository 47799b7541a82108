// Every live session and operator connection of this gateway process, and the watchdog
// that ends them when access no longer holds (rule 11) or they sit idle too long.
import type { Services } from '../core/services.ts';
import type { Logger } from '../core/logger.ts';
import type { GatewayOptions } from './context.ts';
import type { LiveSession } from './liveSession.ts';

/** An authenticated connection, watched even while it only shows the menu. */
export interface WatchedConnection {
  userId: string;
  username: string;
  kick(reason: string): void;
}

export class SessionRegistry {
  readonly #live = new Set<LiveSession>();
  readonly #connections = new Set<WatchedConnection>();
  /** Sessions that are ending (recording flush, row update): shutdown waits for them. */
  readonly #ending = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #soon: NodeJS.Timeout | null = null;
  #unsubscribe: Array<() => void> = [];
  #checking: Promise<void> | null = null;
  /** Bytes of each live session already counted in bastion_gateway_bytes_total. */
  readonly #counted = new WeakMap<LiveSession, { in: number; out: number }>();

  constructor(private readonly services: Services, private readonly options: GatewayOptions, private readonly log: Logger) {}

  start(): void {
    this.#timer = setInterval(() => void this.check(), this.options.accessCheckMs);
    this.#timer.unref();
    // The rows of this process's live sessions say it still holds them, so that no other
    // process (a web server starting, another gateway) closes them as interrupted.
    this.#heartbeat = setInterval(() => void this.#beat(), this.services.config.sessionHeartbeatSeconds * 1000);
    this.#heartbeat.unref();
    // A change made anywhere (this process, or another over the bus via the ChangeFeed) is acted on
    // at once; the timer catches what no change announces: a permission's validTo or a user's expiry passing.
    this.#unsubscribe.push(this.services.changes.subscribe(() => this.#checkSoon()));
    // An admin's terminate (API, web) reaches whichever gateway process holds the session.
    this.#unsubscribe.push(this.services.bus.subscribe('session.terminate', (m) => {
      for (const s of this.#live) if (s.id === m.sessionId) s.terminate(m.reason, { by: m.by });
    }));
    // A watcher joining (live view, any process) gets the screen from the process that records the session.
    this.#unsubscribe.push(this.services.bus.subscribe('session.screen.request', (m) => {
      for (const s of this.#live) {
        if (s.id !== m.sessionId) continue;
        this.services.bus.publish('session.screen.ack', { requestId: m.requestId });
        void s.screen().then(({ seq, screen }) => this.services.bus.publish('session.screen', { sessionId: s.id, requestId: m.requestId, seq, screen }));
      }
    }));
    // A user locked or re-keyed by an admin (any process): their sessions and connections end now.
    this.#unsubscribe.push(this.services.bus.subscribe('user.revoked', (m) => this.#revoke(m.userId, m.reason)));
    // Bytes of long sessions show up at each scrape, not only when they end.
    this.#unsubscribe.push(this.services.metrics.onCollect(() => { for (const s of this.#live) this.#countBytes(s); }));
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    if (this.#soon) clearTimeout(this.#soon);
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#timer = this.#heartbeat = this.#soon = null;
  }

  async #beat(): Promise<void> {
    if (this.#live.size === 0) return;
    try {
      await this.services.sessions.heartbeat([...this.#live].map((s) => s.id));
    } catch (err) {
      this.log.warn({ err }, 'session heartbeat failed');
    }
  }

  add(s: LiveSession): void {
    this.#live.add(s);
    this.#counted.set(s, { in: 0, out: 0 });
    this.services.metrics.sessionStarted(s.kind);
  }

  remove(s: LiveSession): void {
    if (!this.#live.delete(s)) return;
    this.#countBytes(s);
    this.services.metrics.sessionEnded(s.kind);
  }

  #countBytes(s: LiveSession): void {
    const seen = this.#counted.get(s);
    if (!seen) return;
    this.services.metrics.bytes(s.bytesIn - seen.in, s.bytesOut - seen.out);
    seen.in = s.bytesIn;
    seen.out = s.bytesOut;
  }

  /** Backend logins started before their session row, per user (earlyLogin.ts). */
  readonly #early = new Map<string, number>();

  /**
   * Whether a login may start before the session row is written: only while this process holds
   * fewer of the user's sessions and early logins than `max` (0: no limit). Returns the release
   * (call it once the row is written or refused), or null: log in after the row.
   */
  earlyLogin(userId: string, max: number): (() => void) | null {
    if (max <= 0) return () => undefined;
    let held = this.#early.get(userId) ?? 0;
    for (const s of this.#live) if (s.grant.userId === userId) held++;
    if (held >= max) return null;
    this.#early.set(userId, (this.#early.get(userId) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#early.get(userId) ?? 1) - 1;
      if (left > 0) this.#early.set(userId, left);
      else this.#early.delete(userId);
    };
  }

  ending(p: Promise<void>): void {
    this.#ending.add(p);
    void p.finally(() => this.#ending.delete(p));
  }

  watch(c: WatchedConnection): () => void {
    this.#connections.add(c);
    return () => this.#connections.delete(c);
  }

  get size(): number {
    return this.#live.size;
  }

  list(): LiveSession[] {
    return [...this.#live];
  }

  #checkSoon(): void {
    if (this.#soon) return;
    this.#soon = setTimeout(() => {
      this.#soon = null;
      void this.check();
    }, 100);
    this.#soon.unref();
  }

  /** Re-asks core/access for every live session and connection; ends what no longer holds. */
  check(): Promise<void> {
    this.#checking ??= this.#checkAll().finally(() => {
      this.#checking = null;
    });
    return this.#checking;
  }

  async #checkAll(): Promise<void> {
    const now = Date.now();
    try {
      for (const s of this.#live) {
        if (!(await this.services.access.stillHolds(s.grant, s.action, now))) {
          s.terminate(`your access to ${s.grant.asset.name} as ${s.grant.systemUser.username} has been revoked or has expired`, { by: 'access' });
          continue;
        }
        // A transfer under way (an open file, an rsync) stops once its upload/download is revoked.
        for (const action of s.actionsInUse) {
          if (!(await this.services.access.stillHolds(s.grant, action, now))) s.actionLost(action);
        }
        // Only interactive sessions (terminals, shells) are ended for idling by default: a quiet exec (a backup, a migration),
        // an SFTP client between files or a tunnel is left alone unless the exec timeout is set.
        const idle = s.interactive ? this.options.idleTimeoutMs : this.options.idleTimeoutExecMs;
        if (idle > 0 && now - s.lastActivityAt > idle) {
          const span = idle >= 60_000 ? `${Math.round(idle / 60_000)} minute(s)` : `${Math.round(idle / 1000)} seconds`;
          s.terminate(`idle for more than ${span}`, { by: 'idle timeout' });
        }
      }
      // Connections of users who may no longer log in (also those only looking at the menu)
      // go too, a moment later, so that their sessions' last words reach the terminal first.
      const snap = await this.services.access.snapshot();
      for (const c of this.#connections) {
        const u = snap.users.get(c.userId);
        if (u && u.active && (u.expiresAt === null || u.expiresAt > now)) continue;
        this.#connections.delete(c);
        setTimeout(() => c.kick('your account has been disabled or has expired'), 500).unref();
      }
    } catch (err) {
      this.log.error({ err }, 'live session check failed');
    }
  }

  #revoke(userId: string, reason: string): void {
    for (const s of this.#live) if (s.grant.userId === userId) s.terminate(reason, { by: 'admin' });
    for (const c of this.#connections) {
      if (c.userId !== userId) continue;
      this.#connections.delete(c);
      // A moment later, so that the sessions' last words reach the terminal first.
      setTimeout(() => c.kick(reason), 500).unref();
    }
  }

  /** Graceful shutdown: every session is told, ended and flushed. */
  async closeAll(reason: string): Promise<void> {
    const sessions = [...this.#live];
    for (const s of sessions) s.terminate(reason, { by: 'gateway', status: 'closed' });
    await Promise.all(sessions.map((s) => s.end({ status: 'closed', endReason: reason })));
    await Promise.all([...this.#ending]);
    // A moment for the channels to print why before the connections go.
    if (sessions.length) await new Promise((resolve) => setTimeout(resolve, 300));
    for (const c of this.#connections) c.kick(reason);
  }
}
