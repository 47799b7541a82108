// Which live sessions someone watches in the web (live view), and whether a watcher asked
// for keystrokes. Watchers may sit in another process, so they announce themselves over the
// bus — as leases: a watch lasts `leaseMs` unless renewed. A viewer whose process died (a web
// server killed mid-watch) never says goodbye; its lease runs out and the gateway stops
// putting that session's output on the bus. Sessions nobody watches never touch the bus.
import type { Bus } from '../core/bus.ts';

/** The longest lease a watcher may ask for; longer ones are cut to it. */
export const MAX_LEASE_MS = 60_000;

export interface WatchWants {
  /** Also the operator's keystrokes (echoed ones only; see EchoedInput). */
  keystrokes: boolean;
}

export class Watchers {
  /** sessionId → watchId → lease. */
  readonly #leases = new Map<string, Map<string, { until: number; keystrokes: boolean }>>();
  readonly #off: () => void;

  constructor(bus: Bus, private readonly now: () => number = Date.now) {
    this.#off = bus.subscribe('session.watch', (m) => {
      let byWatch = this.#leases.get(m.sessionId);
      if (!m.on) {
        byWatch?.delete(m.watchId);
        if (byWatch?.size === 0) this.#leases.delete(m.sessionId);
        return;
      }
      if (!byWatch) this.#leases.set(m.sessionId, (byWatch = new Map()));
      const lease = Math.min(Math.max(0, m.leaseMs), MAX_LEASE_MS);
      byWatch.set(m.watchId, { until: this.now() + lease, keystrokes: m.keystrokes });
    });
  }

  /** What the session's live watchers want, or null when nobody (with a valid lease) watches it. */
  wants(sessionId: string): WatchWants | null {
    const byWatch = this.#leases.get(sessionId);
    if (!byWatch) return null;
    const now = this.now();
    let keystrokes = false;
    for (const [id, lease] of byWatch) {
      if (lease.until <= now) byWatch.delete(id);
      else keystrokes ||= lease.keystrokes;
    }
    if (byWatch.size === 0) {
      this.#leases.delete(sessionId);
      return null;
    }
    return { keystrokes };
  }

  /** The session is over: forget its leases. */
  forget(sessionId: string): void {
    this.#leases.delete(sessionId);
  }

  close(): void {
    this.#off();
    this.#leases.clear();
  }
}

const byServices = new WeakMap<Bus, Watchers>();

/** The watchers of one gateway's bus; made when the first session opens, before anyone can watch it. */
export function watchersFor(bus: Bus): Watchers {
  let w = byServices.get(bus);
  if (!w) byServices.set(bus, (w = new Watchers(bus)));
  return w;
}
