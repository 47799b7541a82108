// DESIGN rule 13: a client that keeps asking for what is refused (channels over the per-connection
// caps, tunnels to addresses not granted, tcpip-forward, X11 or agent forwarding) must not write a
// log line per request: a flood of requests would be a flood of log. The first refusal of each
// kind on a connection is logged as before; the rest are counted, and the counts are logged once
// when the connection closes.
import type { Logger } from '../core/logger.ts';

/** What is refused; fixed names from our code, so the counts stay a handful per connection. */
export type RefusalKind = 'session channel' | 'tunnel' | 'global request' | 'x11' | 'agent forwarding';

export class RefusalLog {
  readonly #counts = new Map<RefusalKind, number>();

  /** `log`: the connection's logger as it is now (it gains the user once logged in). */
  constructor(private readonly log: () => Logger) {}

  /** Logs the first refusal of `kind` on this connection; later ones are only counted. */
  note(kind: RefusalKind, level: 'info' | 'warn', fields: Record<string, unknown>, msg: string): void {
    const n = (this.#counts.get(kind) ?? 0) + 1;
    this.#counts.set(kind, n);
    if (n === 1) this.log()[level](fields, msg);
  }

  /** At close: how many of each kind were refused, when some were not logged one by one. */
  closed(): void {
    if (![...this.#counts.values()].some((n) => n > 1)) return;
    this.log().info({ refused: Object.fromEntries(this.#counts) }, 'refusals on this connection (only the first of each kind was logged)');
  }
}
