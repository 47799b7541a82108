// Which live sessions someone watches in the web (live view). Watchers may sit in another
// process, so the count comes over the bus; sessions nobody watches never touch it.
import type { Bus } from '../core/bus.ts';

export class Watchers {
  readonly #count = new Map<string, number>();
  readonly #off: () => void;

  constructor(bus: Bus) {
    this.#off = bus.subscribe('session.watch', (m) => {
      const n = (this.#count.get(m.sessionId) ?? 0) + (m.on ? 1 : -1);
      if (n > 0) this.#count.set(m.sessionId, n);
      else this.#count.delete(m.sessionId);
    });
  }

  has(sessionId: string): boolean {
    return this.#count.has(sessionId);
  }

  close(): void {
    this.#off();
    this.#count.clear();
  }
}

const byServices = new WeakMap<Bus, Watchers>();

/** The watcher counts of one gateway's bus; made when the first session opens, before anyone can watch it. */
export function watchersFor(bus: Bus): Watchers {
  let w = byServices.get(bus);
  if (!w) byServices.set(bus, (w = new Watchers(bus)));
  return w;
}
