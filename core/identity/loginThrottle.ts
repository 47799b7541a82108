// Login throttling shared by every process through the database (no process-local counters:
// a cluster of gateways and servers sees one count). Three counters, each one row updated by one
// atomic upsert, so parallel attempts cannot read a stale count (the race of issue 12):
//
// - pair (username, source address): a check takes a slot BEFORE the password is hashed (and
//   gives it back if right). Once `threshold` failures are counted within the lockout period the
//   pair is locked: no further password is even checked from there. A right factor gives its
//   slot back; a completed login resets the pair's failures. Locking the pair, not the
//   account, means a stranger cannot lock the admin out (JumpServer locks user + IP too).
// - account (username, all sources): failures only slow attempts down past `slowdownThreshold`;
//   they never refuse, so nobody can lock an account out for everyone.
// - source address: attempts per minute that were not successes, every username together
//   (OpenSSH PerSourcePenalties' spirit; web and SSH share it).
//
// Own table with INSERT … ON CONFLICT DO UPDATE … RETURNING (SQLite ≥ 3.35, PostgreSQL) rather
// than rate-limiter-flexible: its stores keep their own table per limiter and schema outside our
// frozen migrations, and the pair counter needs "count first, give back on success", which is
// one more statement here.
import type { DataSource } from 'typeorm';

export interface ThrottlePolicy {
  /** Attempts per (username, source) within `minutes` before that pair is locked. */
  threshold: number;
  minutes: number;
  /** Failures per account within `minutes` after which each attempt waits (never refused). */
  slowdownThreshold: number;
  /** Attempts per source address per minute; 0 = no limit. */
  ratePerMinute: number;
}

export interface LockedPair {
  username: string;
  source: string;
  failures: number;
  lockedUntil: Date;
}

type Kind = 'pair' | 'account' | 'source';

/** Longest delay a slowed-down account's attempt waits. */
const MAX_DELAY_MS = 5_000;
/** A pair whose slots are all taken by checks in flight is retried this often, this many times. */
const PAIR_RETRY_MS = 50;
const PAIR_MAX_WAITS = 200;

export class LoginThrottle {
  constructor(private readonly ds: DataSource, private readonly policy: ThrottlePolicy) {}

  /**
   * Counts one attempt from `source` (all usernames); false when the source is over its rate.
   * Checked before anything else, so a flood costs one upsert per attempt, no password hash.
   * Counted before the check and given back when the secret was right (sourceRight): parallel
   * guesses cannot overrun it, and operators who log in often are never slowed by their successes.
   */
  async sourceAllowed(source: string, now = Date.now()): Promise<boolean> {
    if (this.policy.ratePerMinute === 0) return true;
    const hits = await this.#hit('source', `source:${source}`, null, source, 60_000, now);
    return hits <= this.policy.ratePerMinute;
  }

  /** A right secret from `source`: its attempt is given back, so only failures use up the rate. */
  async sourceRight(source: string): Promise<void> {
    if (this.policy.ratePerMinute === 0) return;
    await this.ds.query(this.#sql('UPDATE login_throttle SET hits = hits - 1 WHERE key = ? AND hits > 0'), [`source:${source}`]);
  }

  /**
   * Takes a slot for one check of a secret for the pair, before the secret is checked. The
   * invariant `failures + checks in flight <= threshold` is kept by one conditional upsert, so
   * however many guesses arrive at once, at most `threshold` wrong ones are ever checked; right
   * ones that arrive together simply take turns. 'locked' when the failures reached the threshold.
   */
  async reservePair(username: string, source: string, now = Date.now()): Promise<'go' | 'locked'> {
    const key = pairKey(username, source);
    const windowMs = this.policy.minutes * 60_000;
    for (let waited = 0; ; waited++) {
      const t = now + waited * PAIR_RETRY_MS;
      const expired = t - windowMs;
      const rows = await this.ds.query(this.#sql(
        `/* reserve */ INSERT INTO login_throttle (key, kind, username, source, hits, inflight, window_start) VALUES (?, 'pair', ?, ?, 0, 1, ?)
         ON CONFLICT (key) DO UPDATE SET
           hits = CASE WHEN login_throttle.window_start <= ? THEN 0 ELSE login_throttle.hits END,
           inflight = CASE WHEN login_throttle.window_start <= ? THEN 1 ELSE login_throttle.inflight + 1 END,
           window_start = CASE WHEN login_throttle.window_start <= ? THEN ? ELSE login_throttle.window_start END
         WHERE login_throttle.window_start <= ? OR login_throttle.hits + login_throttle.inflight < ?
         RETURNING hits`,
      ), [key, username.slice(0, 128), source.slice(0, 64), t, expired, expired, expired, t, expired, this.policy.threshold]) as unknown[];
      if (rows.length > 0) return 'go';
      const state = await this.ds.query(this.#sql('SELECT hits FROM login_throttle WHERE key = ?'), [key]) as Array<{ hits: number | string }>;
      if (Number(state[0]?.hits ?? 0) >= this.policy.threshold) return 'locked';
      // Only checks in flight fill the pair: wait for one to finish (bounded).
      if (waited >= PAIR_MAX_WAITS) return 'locked';
      await new Promise((resolve) => setTimeout(resolve, PAIR_RETRY_MS));
    }
  }

  /** The reserved check found the right secret: its slot is freed, no failure counted. */
  async pairRight(username: string, source: string): Promise<void> {
    await this.ds.query(this.#sql('UPDATE login_throttle SET inflight = CASE WHEN inflight > 0 THEN inflight - 1 ELSE 0 END WHERE key = ?'), [pairKey(username, source)]);
  }

  /** The reserved check found a wrong secret: the slot becomes a failure. */
  async pairWrong(username: string, source: string): Promise<void> {
    await this.ds.query(this.#sql('UPDATE login_throttle SET hits = hits + 1, inflight = CASE WHEN inflight > 0 THEN inflight - 1 ELSE 0 END WHERE key = ?'), [pairKey(username, source)]);
  }

  /** The login completed: the pair's failures start over. */
  async resetPair(username: string, source: string): Promise<void> {
    await this.ds.query(this.#sql('UPDATE login_throttle SET hits = 0 WHERE key = ?'), [pairKey(username, source)]);
  }

  /** A wrong secret: counts towards the account's slowdown. */
  async accountFailed(username: string, now = Date.now()): Promise<void> {
    await this.#hit('account', `account:${username}`, username, null, this.policy.minutes * 60_000, now);
  }

  /** How long an attempt on this account waits first: 0 below the slowdown threshold, then growing. */
  async accountDelayMs(username: string, now = Date.now()): Promise<number> {
    const rows = await this.ds.query(this.#sql('SELECT hits, window_start FROM login_throttle WHERE key = ?'), [`account:${username}`]) as Array<{ hits: number | string; window_start: number | string }>;
    const row = rows[0];
    if (!row || Number(row.window_start) <= now - this.policy.minutes * 60_000) return 0;
    const over = Number(row.hits) - this.policy.slowdownThreshold;
    return over < 0 ? 0 : Math.min(MAX_DELAY_MS, 250 * 2 ** Math.min(over, 5));
  }

  /** Failures counted for a pair within the lockout period. */
  async pairFailures(username: string, source: string, now = Date.now()): Promise<number> {
    const rows = await this.ds.query(this.#sql('SELECT hits, window_start FROM login_throttle WHERE key = ?'), [pairKey(username, source)]) as Array<{ hits: number | string; window_start: number | string }>;
    const row = rows[0];
    if (!row || Number(row.window_start) <= now - this.policy.minutes * 60_000) return 0;
    return Number(row.hits);
  }

  /** Pairs locked now, newest first (for the admin). */
  async lockedPairs(now = Date.now()): Promise<LockedPair[]> {
    const windowMs = this.policy.minutes * 60_000;
    const rows = await this.ds.query(
      this.#sql("SELECT username, source, hits, window_start FROM login_throttle WHERE kind = 'pair' AND hits >= ? AND window_start > ? ORDER BY window_start DESC LIMIT 500"),
      [this.policy.threshold, now - windowMs],
    ) as Array<{ username: string; source: string; hits: number | string; window_start: number | string }>;
    return rows.map((r) => ({
      username: r.username, source: r.source, failures: Math.min(Number(r.hits), this.policy.threshold),
      lockedUntil: new Date(Number(r.window_start) + windowMs),
    }));
  }

  /** Clears the locks of a username (every source, or one). Returns how many pairs were cleared. */
  async clear(username: string, source?: string): Promise<number> {
    const before = await this.lockedPairs();
    const matching = before.filter((p) => p.username === username && (source === undefined || p.source === source));
    if (source !== undefined) await this.ds.query(this.#sql('DELETE FROM login_throttle WHERE key = ?'), [pairKey(username, source)]);
    else await this.ds.query(this.#sql("DELETE FROM login_throttle WHERE kind = 'pair' AND username = ?"), [username]);
    await this.ds.query(this.#sql('DELETE FROM login_throttle WHERE key = ?'), [`account:${username}`]);
    return matching.length;
  }

  /** One atomic upsert: +1 within the window, 1 when the window is over. Returns the new count. */
  async #hit(kind: Kind, key: string, username: string | null, source: string | null, windowMs: number, now: number): Promise<number> {
    const expired = now - windowMs;
    // The leading comment is deliberate: TypeORM's SQLite runner sends statements starting with
    // "INSERT " through run(), which drops the RETURNING row; anything else goes through all().
    const rows = await this.ds.query(this.#sql(
      `/* count */ INSERT INTO login_throttle (key, kind, username, source, hits, inflight, window_start) VALUES (?, ?, ?, ?, 1, 0, ?)
       ON CONFLICT (key) DO UPDATE SET
         hits = CASE WHEN login_throttle.window_start <= ? THEN 1 ELSE login_throttle.hits + 1 END,
         window_start = CASE WHEN login_throttle.window_start <= ? THEN ? ELSE login_throttle.window_start END
       RETURNING hits`,
    ), [key.slice(0, 300), kind, username?.slice(0, 128) ?? null, source?.slice(0, 64) ?? null, now, expired, expired, now]) as Array<{ hits: number | string }>;
    return Number(rows[0]?.hits ?? 1);
  }

  /** `?` placeholders for SQLite, `$n` for PostgreSQL. */
  #sql(text: string): string {
    if (this.ds.options.type !== 'postgres') return text;
    let n = 0;
    return text.replace(/\?/g, () => `$${++n}`);
  }
}

function pairKey(username: string, source: string): string {
  return `pair:${username}|${source}`;
}
