// Bounds on what an unauthenticated SSH connection may hold (DESIGN rule 13), like OpenSSH's
// LoginGraceTime and MaxStartups: from TCP accept, identification + key exchange +
// authentication must be done within the grace time, and only so many connections may be
// at that stage at once, in total and from one source address. ssh2 only tells the gateway
// about a connection once the client has sent its identification, so the clock starts here,
// at accept, where a client that never says a word is caught too.
import type { Socket } from 'node:net';
import type { Logger } from '../core/logger.ts';

export interface PreAuthLimits {
  graceMs: number;
  maxTotal: number;
  maxPerSource: number;
}

interface Pending {
  source: string;
  timer: NodeJS.Timeout;
}

/** A connection's identity while it is pending: its peer address and port, as ssh2 reports them too. */
export function connectionKey(address: string | undefined, port: number | undefined): string {
  return `${address ?? '?'}|${port ?? 0}`;
}

export class PreAuthGate {
  readonly #pending = new Map<string, Pending>();
  readonly #perSource = new Map<string, number>();
  /** Refusals since the last log line, per source: a flood gives one line a second, not one per socket. */
  readonly #refused = new Map<string, number>();
  #flush: NodeJS.Timeout | null = null;

  constructor(private readonly limits: PreAuthLimits, private readonly log: Logger) {}

  /** Unauthenticated connections held now. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Called at TCP accept: false (and the socket destroyed) when the start-up limits are reached. */
  admit(sock: Socket): boolean {
    const source = sock.remoteAddress ?? '?';
    const fromSource = this.#perSource.get(source) ?? 0;
    if (this.#pending.size >= this.limits.maxTotal || fromSource >= this.limits.maxPerSource) {
      this.#refuse(source, fromSource >= this.limits.maxPerSource ? 'source' : 'total');
      sock.on('error', () => undefined);
      sock.destroy();
      return false;
    }
    const key = connectionKey(sock.remoteAddress, sock.remotePort);
    const timer = setTimeout(() => {
      this.log.info({ client: source }, 'login not completed within the grace time; disconnecting');
      sock.destroy();
    }, this.limits.graceMs);
    timer.unref();
    this.#pending.set(key, { source, timer });
    this.#perSource.set(source, fromSource + 1);
    sock.once('close', () => this.#release(key));
    return true;
  }

  /** The connection authenticated: it no longer counts as a start-up and has no deadline. */
  authenticated(key: string): void {
    this.#release(key);
  }

  #release(key: string): void {
    const p = this.#pending.get(key);
    if (!p) return;
    clearTimeout(p.timer);
    this.#pending.delete(key);
    const n = (this.#perSource.get(p.source) ?? 1) - 1;
    if (n <= 0) this.#perSource.delete(p.source);
    else this.#perSource.set(p.source, n);
  }

  #refuse(source: string, which: 'source' | 'total'): void {
    const before = this.#refused.get(source);
    this.#refused.set(source, (before ?? 0) + 1);
    if (before === undefined) {
      // The first refusal from a source is logged at once; more within the second are summed up.
      this.log.warn({ client: source, limit: which, maxStartups: this.limits.maxTotal, maxStartupsPerSource: this.limits.maxPerSource, pending: this.#pending.size },
        'too many unauthenticated connections; start-up refused');
      this.#refused.set(source, 0);
    }
    this.#flush ??= setTimeout(() => {
      this.#flush = null;
      for (const [src, n] of this.#refused) {
        if (n > 0) this.log.warn({ client: src, refused: n }, 'too many unauthenticated connections; more start-ups refused');
      }
      this.#refused.clear();
    }, 1000);
    this.#flush.unref();
  }

  close(): void {
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    if (this.#flush) clearTimeout(this.#flush);
  }
}
