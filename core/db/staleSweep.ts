// Rows another process keeps alive by a heartbeat (live sessions, running jobs) are judged stale
// — that process is gone — by a periodic sweep. After a database outage every heartbeat is stale
// though the processes are fine, so once the database has failed to answer this process, nothing
// is judged until it has answered for three periods again: each live process has marked its rows
// by then. Sessions and jobs sweep the same way, through this one loop.
import type { DataSource } from 'typeorm';

export interface StaleSweep {
  /** Judges and ends stale rows; its own failures are its to log. */
  sweep(): Promise<void>;
  /** The database did not answer (said once per outage). */
  onDown(err: unknown): void;
}

/** Sweeps now and once per `periodMs`; resolves with the stop function after the first sweep. */
export async function sweepStale(ds: DataSource, periodMs: number, { sweep, onDown }: StaleSweep): Promise<() => void> {
  /** Since when the database has answered without a break; null: as far as this process knows, always. */
  let reachableSince: number | null = null;
  let down = false;
  const tick = async (): Promise<void> => {
    try {
      await ds.query('SELECT 1');
    } catch (err) {
      if (!down) onDown(err);
      down = true;
      return;
    }
    if (down) {
      down = false;
      reachableSince = Date.now();
    }
    if (reachableSince !== null && Date.now() - reachableSince < 3 * periodMs) return;
    await sweep();
  };
  await tick();
  const timer = setInterval(() => void tick(), periodMs);
  timer.unref();
  return () => clearInterval(timer);
}
