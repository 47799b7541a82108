// The bus between processes that share one PostgreSQL (DESIGN: `bastion server` and
// `bastion gateway` on several hosts): LISTEN/NOTIFY on one channel. It is a peer of the
// ClusterBus, like a gateway worker: what this process publishes goes out as NOTIFY, what
// others publish comes in and is delivered here (and relayed to this host's workers).
//
// NOTIFY payloads must stay under 8000 bytes, and live-view output can be 64 KiB: larger
// messages travel as numbered parts, put back together on arrival. Delivery is as reliable
// as the connection: while it is down, messages are dropped. So when it comes back, this
// process and every other one are told `access.changed {kind: 'all'}`: each drops every cache
// of domain data (access, command filters) and re-reads the database, whatever it missed.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from './logger.ts';
import type { BusPeer, Envelope } from './bus.ts';

const CHANNEL = 'bastion_bus';
/** UTF-16 units per part: at most 3 UTF-8 bytes each, so a part stays under NOTIFY's 8000 bytes. */
const PART = 2400;
/** Parts of unfinished messages are forgotten after this long (a sender that died halfway). */
const PARTIAL_TTL_MS = 30_000;
const RECONNECT_MS = 1000;
/**
 * NOTIFYs waiting for their turn: one query at a time on the connection (pg 8 warns about a
 * second query while one runs, pg 9 refuses it). Beyond this many, new messages are dropped
 * (a PostgreSQL that cannot keep up must not grow this process without bound).
 */
const MAX_QUEUED = 5000;

/** Cuts text into parts of at most `size` units, never between the two halves of a surrogate pair. */
export function splitText(text: string, size: number): string[] {
  const parts: string[] = [];
  let at = 0;
  while (at < text.length) {
    let end = Math.min(at + size, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    parts.push(text.slice(at, end));
    at = end;
  }
  return parts.length ? parts : [''];
}

export class PostgresBusPeer implements BusPeer {
  readonly #url: string;
  readonly #log: Logger;
  readonly #origin = randomUUID();
  readonly #events = new EventEmitter();
  readonly #partial = new Map<string, { parts: string[]; got: number; at: number }>();
  #client: pg.Client | null = null;
  #connecting: Promise<void> | null = null;
  #seq = 0;
  #closed = false;
  #connectedOnce = false;
  #retry: NodeJS.Timeout | null = null;
  /** NOTIFY payloads in order, sent one query at a time by #drain. */
  readonly #queue: string[] = [];
  #draining = false;
  #dropped = 0;
  /** When this process's own recent messages were sent (by sequence number), to time their way back. */
  readonly #sentAt = new Map<number, number>();
  readonly #onLag: ((seconds: number) => void) | undefined;

  private constructor(url: string, log: Logger, onLag?: (seconds: number) => void) {
    this.#url = url;
    this.#log = log;
    this.#onLag = onLag;
  }

  /**
   * Connects and listens; fails when PostgreSQL cannot be reached at start. `onLag` hears, for
   * each message of this process, how long it took to come back through PostgreSQL (bus lag).
   */
  static async connect(url: string, log: Logger, onLag?: (seconds: number) => void): Promise<PostgresBusPeer> {
    const peer = new PostgresBusPeer(url, log, onLag);
    await peer.#connect();
    return peer;
  }

  on(event: 'message', fn: (message: unknown) => void): this {
    this.#events.on(event, fn);
    return this;
  }

  send(envelope: Envelope): void {
    if (!this.#client) return;
    const id = `${this.#origin}:${++this.#seq}`;
    const parts = splitText(JSON.stringify(envelope), PART);
    if (this.#queue.length + parts.length > MAX_QUEUED) {
      if (this.#dropped++ === 0) this.#log.warn({ queued: this.#queue.length }, 'bus messages to PostgreSQL are dropped: it does not keep up');
      return;
    }
    if (this.#onLag) {
      // Bounded: messages that never come back (a lost connection) are forgotten.
      if (this.#sentAt.size >= 1000) this.#sentAt.clear();
      this.#sentAt.set(this.#seq, performance.now());
    }
    // id|index|count|text: the id tells this process its own messages, which it already delivered.
    for (let i = 0; i < parts.length; i++) this.#queue.push(`${id}|${i}|${parts.length}|${parts[i]}`);
    void this.#drain();
  }

  /** Sends the queued NOTIFYs one query at a time, in order. */
  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let payload = this.#queue.shift(); payload !== undefined; payload = this.#queue.shift()) {
        const client = this.#client;
        if (!client) {
          // Lost meanwhile: the reconnection's resync tells everyone to start afresh.
          this.#queue.length = 0;
          break;
        }
        try {
          await client.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]);
        } catch (err) {
          this.#log.warn({ err }, 'bus message could not be sent to PostgreSQL');
        }
      }
    } finally {
      this.#draining = false;
      if (this.#dropped > 0 && this.#queue.length === 0) this.#dropped = 0;
    }
  }

  async close(): Promise<void> {
    // What was published just before (a session's end at shutdown) still goes out, briefly.
    for (let i = 0; i < 100 && (this.#draining || this.#queue.length > 0) && this.#client; i++) await new Promise((r) => setTimeout(r, 10));
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => undefined);
  }

  #connect(): Promise<void> {
    this.#connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.#url });
      client.on('notification', (n) => { if (n.channel === CHANNEL && n.payload) this.#receive(n.payload); });
      client.on('error', (err) => this.#lost(client, err));
      client.on('end', () => this.#lost(client, null));
      try {
        await client.connect();
        await client.query(`LISTEN ${CHANNEL}`);
      } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
      }
      if (this.#closed) {
        await client.end().catch(() => undefined);
        return;
      }
      this.#client = client;
      if (this.#connectedOnce) this.#resync();
      this.#connectedOnce = true;
    })().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  /** After a reconnection: messages may have been lost both ways, so everyone starts afresh. */
  #resync(): void {
    const envelope: Envelope = { __bastionBus: true, topic: 'access.changed', message: { kind: 'all' } };
    this.#events.emit('message', envelope);
    this.send(envelope);
  }

  #lost(client: pg.Client, err: Error | null): void {
    if (this.#client !== client || this.#closed) return;
    this.#client = null;
    this.#log.warn({ err }, 'bus connection to PostgreSQL lost; reconnecting');
    void client.end().catch(() => undefined);
    this.#reconnect();
  }

  #reconnect(): void {
    if (this.#closed || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#connect().catch((err: unknown) => {
        this.#log.warn({ err }, 'bus connection to PostgreSQL failed; retrying');
        this.#reconnect();
      });
    }, RECONNECT_MS);
    this.#retry.unref();
  }

  #receive(payload: string): void {
    const m = /^([0-9a-f-]{36}):(\d+)\|(\d+)\|(\d+)\|/.exec(payload);
    if (!m) return;
    if (m[1] === this.#origin) {
      // Our own message back: already delivered here; the time it took is the bus lag.
      const sent = m[3] === '0' ? this.#sentAt.get(Number(m[2])) : undefined;
      if (sent !== undefined) {
        this.#sentAt.delete(Number(m[2]));
        this.#onLag?.((performance.now() - sent) / 1000);
      }
      return;
    }
    const [head, , , index, count] = m;
    const text = payload.slice(head.length);
    const total = Number(count);
    let whole: string | null = null;
    if (total === 1) {
      whole = text;
    } else {
      const key = `${m[1]}:${m[2]}`;
      const now = Date.now();
      const entry = this.#partial.get(key) ?? { parts: new Array<string>(total).fill(''), got: 0, at: now };
      if (!this.#partial.has(key)) {
        for (const [k, v] of this.#partial) if (now - v.at > PARTIAL_TTL_MS) this.#partial.delete(k);
        this.#partial.set(key, entry);
      }
      const i = Number(index);
      if (i >= total || entry.parts.length !== total) return;
      entry.parts[i] = text;
      if (++entry.got < total) return;
      this.#partial.delete(key);
      whole = entry.parts.join('');
    }
    let envelope: unknown;
    try {
      envelope = JSON.parse(whole);
    } catch {
      this.#log.warn('an unreadable bus message from PostgreSQL was ignored');
      return;
    }
    this.#events.emit('message', envelope);
  }
}
