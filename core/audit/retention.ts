import type { DataSource } from 'typeorm';
import type { Logger } from '../logger.ts';
import type { SessionService } from './sessions.ts';
import { sqlParam } from '../db/sqlParam.ts';
import { SYSTEM_ACTOR, type Actor } from '../actor.ts';
import { RateLimitedError, ValidationError } from '../errors.ts';
import { writeOperation } from './operationLog.ts';

export interface RetentionLimits {
  /** No purge deletes anything younger than this many days. */
  minDays: number;
  /** A purge asked for within this long after the last one (any process) is refused. */
  intervalMs: number;
}

export interface PurgeResult {
  sessions: number;
  recordings: number;
  commands: number;
  fileTransfers: number;
  loginLogs: number;
  operationLogs: number;
  jobs: number;
}

/**
 * Deletes recordings and logs older than the retention period; keeps live sessions. Erasing
 * audit is itself audited: every purge writes an operation-log row (who, how many days, how
 * many rows of each kind), never purges younger than the floor, and not twice within a minute.
 */
export class RetentionService {
  #usage: { at: number; bytes: number; files: number } | null = null;

  constructor(
    private readonly ds: DataSource,
    private readonly sessions: SessionService,
    private readonly log: Logger,
    private readonly limits: RetentionLimits = { minDays: 30, intervalMs: 60_000 },
  ) {}

  async purge(actor: Actor, days: number, now = Date.now()): Promise<PurgeResult> {
    if (!Number.isInteger(days) || days < this.limits.minDays) {
      throw new ValidationError(`must be at least ${this.limits.minDays} (BASTION_RETENTION_MIN_DAYS)`, { reason: 'retention_too_short', field: 'days', min: this.limits.minDays });
    }
    // The last purge is read from the operation log, so every process shares the limit.
    const [last] = await this.ds.query(
      `SELECT MAX(created_at) AS at FROM operation_log WHERE action = 'purge' AND resource_type = 'retention'`,
    ) as [{ at: unknown }];
    const lastAt = last?.at == null ? null : Number(last.at);
    if (lastAt !== null && now - lastAt < this.limits.intervalMs) {
      throw new RateLimitedError(`a purge ran ${Math.round((now - lastAt) / 1000)} s ago; try again in a minute`, { reason: 'purge_too_soon' });
    }
    const cutoff = now - days * 86_400_000;
    const old = await this.ds.query(
      `SELECT id, recording FROM session WHERE status <> 'active' AND started_at < ${sqlParam(this.ds, 1)}`, [cutoff],
    ) as { id: string; recording: string | null }[];
    let recordings = 0;
    for (const s of old) {
      const name = this.sessions.recordingOf(s);
      if (name) {
        // With its sidecar and, on S3, an upload a stopped gateway left unfinished.
        await this.sessions.recordings.remove(name);
        this.sessions.segments.forget(name);
        recordings++;
      }
    }
    const p = sqlParam(this.ds, 1);
    const del = async (table: string, where: string): Promise<number> => {
      const [{ n }] = await this.ds.query(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`, [cutoff]) as [{ n: number | string }];
      if (Number(n) > 0) await this.ds.query(`DELETE FROM ${table} WHERE ${where}`, [cutoff]);
      return Number(n);
    };
    const counts: PurgeResult = {
      sessions: 0,
      recordings,
      commands: await del('command', `session_id IN (SELECT id FROM session WHERE status <> 'active' AND started_at < ${p})`),
      fileTransfers: await del('file_transfer', `created_at < ${p}`),
      loginLogs: await del('login_log', `created_at < ${p}`),
      operationLogs: await del('operation_log', `created_at < ${p}`),
      jobs: await del('job', `status NOT IN ('queued', 'running') AND created_at < ${p}`),
    };
    counts.sessions = await del('session', `status <> 'active' AND started_at < ${p}`);
    // Written after the deletions, so it never purges its own record.
    await this.ds.transaction((em) => writeOperation(em, actor, {
      action: 'purge', resourceType: 'retention', resourceId: null, resourceName: `older than ${days} days`,
      changes: { days, cutoff: new Date(cutoff).toISOString(), ...counts },
    }));
    this.#usage = null;
    this.log.info({ days, by: actor.username, ...counts }, 'retention purge done');
    return counts;
  }

  /** Runs purge once a day (and once shortly after start); returns a stopper. */
  schedule(days: number): () => void {
    if (days <= 0) return () => {};
    const run = () => { this.purge({ ...SYSTEM_ACTOR, username: 'retention schedule' }, days).catch((err: unknown) => this.log.error({ err }, 'retention purge failed')); };
    const first = setTimeout(run, 60_000);
    const daily = setInterval(run, 86_400_000);
    first.unref();
    daily.unref();
    return () => { clearTimeout(first); clearInterval(daily); };
  }

  /** Bytes and files (recordings and their sidecars) the recordings store keeps, cached for a minute. */
  async recordingsUsage(): Promise<{ bytes: number; files: number }> {
    if (this.#usage && Date.now() - this.#usage.at < 60_000) return this.#usage;
    const { bytes, files } = await this.sessions.recordings.usage();
    this.#usage = { at: Date.now(), bytes, files };
    return this.#usage;
  }
}
