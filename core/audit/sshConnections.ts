// BASTION_MAX_CONNECTIONS_PER_USER (DESIGN rules 12 and 13): the SSH connections one user holds
// logged in at once, in every gateway process (workers, separate `bastion gateway` processes on
// one PostgreSQL), as Teleport's role option max_connections bounds a user's connections
// cluster-wide. A connection's start counts the way a session's does (core/audit/loginsHeld.ts):
// under the user's row lock, one row per connection, so that logins at the same moment in any
// process count each other. A row lives from the login to the connection's close; its process
// marks its rows every heartbeat period, so the rows of a process that died stop counting after
// three periods (and the primary's sweep removes them), as sessions and jobs are judged. A process
// that only stalled that long writes its swept rows again at its next heartbeat: its connections
// are still open and count again.
import { hostname } from 'node:os';
import { In, type DataSource } from 'typeorm';
import { SshConnectionEntity } from '../db/entities/index.ts';
import { lockUserRow } from '../identity/userRowLock.ts';
import { sweepStale } from '../db/staleSweep.ts';
import { newId } from '../ids.ts';
import type { Logger } from '../logger.ts';

/** The line an operator's client prints when the limit refuses their login. */
export function connectionLimitLine(max: number): string {
  return `[bastion] you already have ${max} SSH connection${max === 1 ? '' : 's'} open, the most allowed; close one first`;
}

/** What this process knows of a lease it holds: enough to write its row again. */
interface HeldLease {
  id: string;
  userId: string;
  clientAddress: string;
  startedAt: Date;
  holder: string;
}

/** How a process names itself in the rows it holds: its host and pid, which its primary also knows. */
export function leaseHolder(pid: number = process.pid): string {
  return `${hostname().slice(0, 100)}/${pid}`;
}

export class SshConnectionLeases {
  /** The rows this process holds (its live connections), by id: marked every heartbeat period. */
  readonly #held = new Map<string, HeldLease>();
  #beating: NodeJS.Timeout | null = null;

  constructor(private readonly ds: DataSource, private readonly heartbeatMs: number, private readonly log?: Logger, readonly holder: string = leaseHolder()) {}

  /**
   * A lease for one more logged-in connection of the user: its id (give it back with release),
   * or null when the user already holds `max` live ones (0: no limit, nothing is held).
   */
  async take(userId: string, clientAddress: string, max: number): Promise<string | null> {
    if (max <= 0) return '';
    const lease: HeldLease = { id: newId(), userId, clientAddress: clientAddress.slice(0, 64), startedAt: new Date(), holder: this.holder };
    const taken = await this.ds.transaction(async (em) => {
      await lockUserRow(em, userId);
      const held = await em.getRepository(SshConnectionEntity).createQueryBuilder('c')
        .where('c.user_id = :userId', { userId })
        .andWhere('c.heartbeat_at >= :cutoff', { cutoff: this.#cutoff() })
        .getCount();
      if (held >= max) return false;
      await em.getRepository(SshConnectionEntity).insert({ ...lease, heartbeatAt: lease.startedAt });
      return true;
    });
    if (!taken) return null;
    const { id } = lease;
    this.#held.set(id, lease);
    this.#beating ??= setInterval(() => void this.#beat(), this.heartbeatMs).unref();
    return id;
  }

  /** Gives the lease back (the connection closed); a row the database could not drop stops counting once unmarked. */
  async release(id: string): Promise<void> {
    if (!id || !this.#held.delete(id)) return;
    if (this.#held.size === 0 && this.#beating) {
      clearInterval(this.#beating);
      this.#beating = null;
    }
    await this.ds.getRepository(SshConnectionEntity).delete({ id });
  }

  /** Rows older than this have lost their process. */
  #cutoff(): number {
    return Date.now() - 3 * this.heartbeatMs;
  }

  async #beat(): Promise<void> {
    const ids = [...this.#held.keys()];
    const repo = this.ds.getRepository(SshConnectionEntity);
    try {
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const now = new Date();
        const res = await repo.update({ id: In(chunk) }, { heartbeatAt: now });
        if (res.affected === undefined || res.affected >= chunk.length) continue;
        // This process stalled (or could not reach the database) for three periods, and another
        // one's sweep took its rows: the connections are still open, so they count again.
        const present = new Set((await repo.find({ select: { id: true }, where: { id: In(chunk) } })).map((r) => r.id));
        const lost = chunk.filter((id) => !present.has(id)).flatMap((id) => {
          const lease = this.#held.get(id);
          return lease ? [{ ...lease, heartbeatAt: now }] : [];
        });
        if (lost.length === 0) continue;
        await repo.insert(lost);
        this.log?.warn({ connections: lost.length }, 'SSH connections whose rows were swept while this process stalled count again');
      }
    } catch (err) {
      this.log?.warn({ err }, 'SSH connection heartbeat failed');
    }
  }

  /**
   * Removes the rows of a process known to be gone (`bastion start` saw its gateway worker exit):
   * its connections died with it, and stop counting now rather than after three periods.
   */
  async dropHolder(holder: string): Promise<number> {
    const res = await this.ds.getRepository(SshConnectionEntity).delete({ holder });
    const n = res.affected ?? 0;
    if (n > 0) this.log?.info({ connections: n, holder }, 'SSH connections of a gateway process that exited no longer count');
    return n;
  }

  /** Removes the rows whose process is gone (unmarked for three periods); returns how many. */
  async dropStale(): Promise<number> {
    const res = await this.ds.createQueryBuilder().delete().from(SshConnectionEntity)
      .where('heartbeat_at < :cutoff', { cutoff: this.#cutoff() })
      .execute();
    return res.affected ?? 0;
  }

  /** Runs dropStale now and once per heartbeat period (the primary process); returns the stop function. */
  sweepStale(): Promise<() => void> {
    return sweepStale(this.ds, this.heartbeatMs, {
      onDown: (err) => this.log?.warn({ err }, 'the database does not answer; no SSH connection is judged gone until it has answered for three heartbeat periods'),
      sweep: async () => {
        try {
          const n = await this.dropStale();
          if (n > 0) this.log?.warn({ connections: n }, 'SSH connections whose gateway stopped no longer count');
        } catch (err) {
          this.log?.error({ err }, 'dropping stale SSH connections failed');
        }
      },
    });
  }

  /** Stops marking (shutdown); the rows of connections still open then stop counting after three periods. */
  stop(): void {
    if (this.#beating) clearInterval(this.#beating);
    this.#beating = null;
  }
}
