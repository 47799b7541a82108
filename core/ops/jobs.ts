import { In, type DataSource } from 'typeorm';
import { SYSTEM_ACTOR, type Actor } from '../actor.ts';
import type { Logger } from '../logger.ts';
import type { Bus } from '../bus.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { newId } from '../ids.ts';
import { paginate, type ListQuery, type Page } from '../db/listing.ts';
import { sweepStale } from '../db/staleSweep.ts';
import { JobEntity, type Job, type JobResult } from '../db/entities/index.ts';
import { jobLogins, refuseOverLoginLimit } from '../audit/loginsHeld.ts';
import { writeOperation } from '../audit/operationLog.ts';
import type { JobSummary } from './jobOutcomes.ts';

export interface JobTarget {
  id: string;
  name: string;
}

/** What a task reports for one asset; `outcome` defaults to ok / failed by `ok`. */
export type TaskResult = Omit<JobResult, 'asset' | 'assetName' | 'running'>;

/**
 * One asset's piece of a job; it must resolve (never reject) with that asset's result.
 * `progress` is given a way to read the asset's output so far, read when the job row is next
 * written (at most every PROGRESS_MS), so a chatty command costs no work per chunk.
 */
export type AssetTask<T extends JobTarget> = (target: T, signal: AbortSignal, progress: (outputSoFar: () => string) => void, job: { id: string }) => Promise<TaskResult>;

export type { JobSummary };

export function outcomeOf(r: Pick<JobResult, 'ok' | 'outcome'>): NonNullable<JobResult['outcome']> {
  return r.outcome ?? (r.ok ? 'ok' : 'failed');
}

export function summarize(job: Pick<Job, 'results' | 'params'>): JobSummary {
  const out: JobSummary = { ok: 0, failed: 0, timedOut: 0, canceled: 0, pending: 0 };
  let done = 0;
  for (const r of job.results) {
    if (r.running) continue;
    out[outcomeOf(r)]++;
    done++;
  }
  out.pending = Math.max(0, (Number(job.params.assetsTotal) || 0) - done);
  return out;
}

/** A finished job's status from its results: all ok, none ok, or some of each (partial). */
export function finalStatus(results: JobResult[], aborted: boolean): Job['status'] {
  if (aborted) return 'canceled';
  const ok = results.filter((r) => r.ok).length;
  if (results.length > 0 && ok === results.length) return 'succeeded';
  return ok > 0 ? 'partial' : 'failed';
}

export interface JobListQuery extends ListQuery {
  kind?: Job['kind'] | undefined;
  status?: Job['status'] | undefined;
  createdBy?: string | undefined;
}

const MAX_LOG = 256 * 1024;
/** The live output of a running asset is written to the job row at most this often. */
const PROGRESS_MS = 500;
const LIVE_OUTPUT_MAX = 64 * 1024;
/** How often running jobs whose starter's rights are watched are re-checked without a change event (expiry, lockouts). */
const RECHECK_MS = 5_000;
/** How long a cancel handed to another process waits for the job's row to say it ended. */
const CANCEL_ELSEWHERE_WAIT_MS = 15_000;

export interface JobOptions {
  /**
   * Asked when users, permissions or locks change (and every few seconds while the job runs):
   * a reason stops the job (rule 11: a job run by an operator ends when the operator is
   * disabled, locked or loses the permission), null lets it go on.
   */
  stillAllowed?: () => Promise<string | null>;
}

/**
 * Jobs run in this process with bounded concurrency; their state lives in the job row, so a
 * page reload sees progress; a process that dies leaves rows it no longer marks, which a live process then fails.
 */
export class JobService {
  readonly #running = new Map<string, AbortController>();
  readonly #done = new Map<string, Promise<void>>();
  readonly #watched = new Map<string, () => Promise<string | null>>();
  #recheckTimer: NodeJS.Timeout | null = null;
  #bus: Bus | null = null;
  #beating: NodeJS.Timeout | null = null;
  #rechecking: Promise<void> | null = null;

  /**
   * `maxSessionsPerUser` (BASTION_MAX_SESSIONS_PER_USER, 0: no limit): a job logs in to up to
   * JOB_ASSETS_AT_ONCE of its assets at once, so a user's queued and running jobs count that many
   * logins each, with the user's active sessions (core/audit/loginsHeld.ts); one more is refused.
   */
  constructor(private readonly ds: DataSource, private readonly log: Logger, private readonly maxSessionsPerUser = 0, private readonly heartbeatMs = 30_000) {}

  async list(q: JobListQuery): Promise<Page<Job>> {
    const qb = this.ds.getRepository(JobEntity).createQueryBuilder('j').orderBy('j.created_at', 'DESC');
    if (q.kind) qb.andWhere('j.kind = :kind', { kind: q.kind });
    if (q.status) qb.andWhere('j.status = :status', { status: q.status });
    if (q.createdBy) qb.andWhere('j.created_by = :cb', { cb: q.createdBy });
    return paginate(qb, q);
  }

  /** How many jobs there are in each status (GET /metrics). */
  async countByStatus(): Promise<Array<{ status: Job['status']; count: number }>> {
    const rows = await this.ds.getRepository(JobEntity).createQueryBuilder('j')
      .select('j.status', 'status').addSelect('COUNT(*)', 'count').groupBy('j.status').getRawMany<{ status: Job['status']; count: string | number }>();
    return rows.map((r) => ({ status: r.status, count: Number(r.count) }));
  }

  async get(id: string): Promise<Job> {
    const job = await this.ds.getRepository(JobEntity).findOneBy({ id });
    if (!job) throw new NotFoundError('job not found', { reason: 'job_not_found' });
    return job;
  }

  /** Resolves when the job has finished (for tests and the CLI). */
  async settled(id: string): Promise<Job> {
    await this.#done.get(id);
    return this.get(id);
  }

  async start<T extends JobTarget>(actor: Actor, kind: Job['kind'], params: Record<string, unknown>, targets: T[], task: AssetTask<T>, resourceName: string, opts: JobOptions = {}): Promise<Job> {
    const job: Job = {
      id: newId(), kind, status: 'queued', params: { ...params, assetsTotal: targets.length }, results: [], log: '', createdBy: actor.id,
      createdAt: new Date(), startedAt: null, endedAt: null,
    };
    job.heartbeatAt = job.createdAt;
    await this.ds.transaction(async (em) => {
      // Counted with the user's sessions, the insert below in the same transaction (under the user's row lock).
      if (actor.id && this.maxSessionsPerUser > 0) await refuseOverLoginLimit(em, actor.id, this.maxSessionsPerUser, { jobLogins: jobLogins(targets.length) });
      await em.getRepository(JobEntity).insert(job as never);
      await writeOperation(em, actor, { action: 'run', resourceType: 'job', resourceId: job.id, resourceName: `${kind}: ${resourceName}`.slice(0, 255), changes: { ...params, assets: targets.map((t) => t.name) } });
    });
    const controller = new AbortController();
    this.#running.set(job.id, controller);
    this.#beating ??= setInterval(() => void this.#beat(), this.heartbeatMs).unref();
    if (opts.stillAllowed) this.#watch(job.id, opts.stillAllowed);
    const done = this.#run(job, targets, task, controller.signal)
      .catch((err: unknown) => this.log.error({ err, job: job.id }, 'job runner failed'))
      .finally(() => {
        this.#running.delete(job.id);
        this.#unwatch(job.id);
        if (this.#running.size === 0 && this.#beating) {
          clearInterval(this.#beating);
          this.#beating = null;
        }
      });
    this.#done.set(job.id, done);
    void done.finally(() => setTimeout(() => this.#done.delete(job.id), 60_000).unref());
    return job;
  }

  /**
   * Cancels asked in other processes reach the jobs running in this one (rule 12: with several
   * servers on one PostgreSQL, POST /jobs/:id/cancel may reach a server other than the job's).
   */
  connect(bus: Bus): void {
    this.#bus = bus;
    bus.subscribe('job.cancel', (m) => this.#running.get(m.jobId)?.abort());
  }

  async cancel(actor: Actor, id: string): Promise<Job> {
    const job = await this.get(id);
    const controller = this.#running.get(id);
    const elsewhere = !controller && (job.status === 'queued' || job.status === 'running') && this.#bus !== null;
    if (!controller && !elsewhere) throw new ConflictError(`the job is ${job.status}, not running`, { reason: 'job_not_running' });
    if (controller) controller.abort();
    else this.#bus!.publish('job.cancel', { jobId: id });
    await this.ds.transaction(async (em) => {
      await writeOperation(em, actor, { action: 'cancel', resourceType: 'job', resourceId: id, resourceName: job.kind });
    });
    return controller ? this.settled(id) : this.#endedElsewhere(id);
  }

  /** The job's row once the process running it has ended it (a stopped command may take KILL_GIVE_UP_MS), or as it is then. */
  async #endedElsewhere(id: string): Promise<Job> {
    const deadline = Date.now() + CANCEL_ELSEWHERE_WAIT_MS;
    for (;;) {
      const job = await this.get(id);
      if ((job.status !== 'queued' && job.status !== 'running') || Date.now() > deadline) return job;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /**
   * Re-asks every watched running job whether its starter may still run it, and cancels those
   * that may not (with the reason in the job's log). Called on every change to users,
   * permissions or locks, in this process or another (the ChangeFeed and the bus), and on a timer.
   */
  recheck(): Promise<void> {
    this.#rechecking ??= this.#recheckAll().finally(() => {
      this.#rechecking = null;
    });
    return this.#rechecking;
  }

  async #recheckAll(): Promise<void> {
    for (const [id, stillAllowed] of [...this.#watched]) {
      let reason: string | null;
      try {
        reason = await stillAllowed();
      } catch (err) {
        this.log.error({ err, job: id }, 'job re-check failed; the job is stopped');
        reason = 'its rights could not be checked';
      }
      const controller = this.#running.get(id);
      if (reason && controller && !controller.signal.aborted) {
        this.log.info({ job: id, reason }, 'job canceled: its starter may no longer run it');
        controller.abort(reason);
        // The operation log says who canceled it: the bastion itself, and why.
        await this.ds.transaction((em) => writeOperation(em, SYSTEM_ACTOR, { action: 'cancel', resourceType: 'job', resourceId: id, resourceName: 'command', changes: { reason } }))
          .catch((err: unknown) => this.log.error({ err, job: id }, 'job cancel could not be logged'));
      }
    }
  }

  #watch(id: string, stillAllowed: () => Promise<string | null>): void {
    this.#watched.set(id, stillAllowed);
    if (this.#recheckTimer) return;
    this.#recheckTimer = setInterval(() => void this.recheck(), RECHECK_MS);
    this.#recheckTimer.unref();
  }

  #unwatch(id: string): void {
    this.#watched.delete(id);
    if (this.#watched.size === 0 && this.#recheckTimer) {
      clearInterval(this.#recheckTimer);
      this.#recheckTimer = null;
    }
  }

  /** Marks the jobs this process runs (every heartbeatMs): a job left unmarked has lost its process. */
  async #beat(): Promise<void> {
    const ids = [...this.#running.keys()];
    if (ids.length === 0) return;
    await this.ds.getRepository(JobEntity).update({ id: In(ids) }, { heartbeatAt: new Date() }).catch((err: unknown) => this.log.warn({ err }, 'running jobs could not be marked'));
  }

  /**
   * Jobs left queued or running by a process that is gone (unmarked for three heartbeat periods)
   * are failed; those another live process runs (several servers on one PostgreSQL) are not.
   */
  async failInterrupted(): Promise<number> {
    const res = await this.ds.getRepository(JobEntity).createQueryBuilder().update()
      .set({ status: 'failed', endedAt: new Date(), log: () => "log || 'interrupted: the bastion stopped while this job ran\n'" })
      .where("status IN ('queued', 'running')")
      .andWhere('COALESCE(heartbeat_at, created_at) < :cutoff', { cutoff: Date.now() - 3 * this.heartbeatMs })
      .execute();
    return res.affected ?? 0;
  }

  /**
   * Runs failInterrupted now and once per heartbeat period; returns the stop function. After a
   * database outage every mark is stale, yet the processes are fine: jobs are judged only once the
   * database has answered for three periods again, so that each live process has marked its jobs.
   */
  async sweepInterrupted(): Promise<() => void> {
    return sweepStale(this.ds, this.heartbeatMs, {
      onDown: (err) => this.log.warn({ err }, 'the database does not answer; no job is judged interrupted until it has answered for three heartbeat periods'),
      sweep: async () => {
        try {
          await this.failInterrupted();
        } catch (err) {
          this.log.error({ err }, 'failing interrupted jobs failed');
        }
      },
    });
  }

  /** Waits for running jobs to notice cancellation, for shutdown. */
  async stopAll(): Promise<void> {
    for (const c of this.#running.values()) c.abort();
    await Promise.all([...this.#done.values()]);
  }

  async #run<T extends JobTarget>(job: Job, targets: T[], task: AssetTask<T>, signal: AbortSignal): Promise<void> {
    const repo = this.ds.getRepository(JobEntity);
    job.status = 'running';
    job.startedAt = new Date();
    await repo.update({ id: job.id }, { status: job.status, startedAt: job.startedAt });
    const results: JobResult[] = [];
    // Assets being worked on, with their output so far: shown live, replaced by their result.
    const live = new Map<string, { target: T; output: () => string }>();
    let log = '';
    const liveRows = (): JobResult[] => [...live.values()].map(({ target, output }) => {
      const text = output();
      return { asset: target.id, assetName: target.name, ok: false, exitCode: null, output: text.length > LIVE_OUTPUT_MAX ? text.slice(-LIVE_OUTPUT_MAX) : text, running: true };
    });
    // Progress writes are serialized so a slow write never reorders results.
    let writing = Promise.resolve();
    const persist = () => {
      const snapshot = { results: [...results, ...liveRows()], log };
      writing = writing.then(() => repo.update({ id: job.id }, snapshot as never).then(() => undefined, () => undefined));
      return writing;
    };
    let progressTimer: NodeJS.Timeout | null = null;
    const progressSoon = () => {
      progressTimer ??= setTimeout(() => { progressTimer = null; void persist(); }, PROGRESS_MS);
    };
    let next = 0;
    const worker = async () => {
      while (next < targets.length) {
        const target = targets[next++]!;
        if (signal.aborted) {
          results.push({ asset: target.id, assetName: target.name, ok: false, exitCode: null, output: 'canceled before it started', outcome: 'canceled' });
          continue;
        }
        const running = { target, output: () => '' };
        live.set(target.id, running);
        const progress = (outputSoFar: () => string) => {
          running.output = outputSoFar;
          progressSoon();
        };
        let r: TaskResult;
        try {
          r = await task(target, signal, progress, { id: job.id });
        } catch (err) {
          r = { ok: false, exitCode: null, output: err instanceof Error ? err.message : String(err) };
        }
        live.delete(target.id);
        results.push({ asset: target.id, assetName: target.name, ...r, outcome: r.outcome ?? (r.ok ? 'ok' : signal.aborted ? 'canceled' : 'failed') });
        log = (log + `${r.ok ? 'ok    ' : 'FAILED'} ${target.name}${r.exitCode !== null ? ` (exit ${r.exitCode})` : ''}: ${firstLine(r.output)}\n`).slice(-MAX_LOG);
        await persist();
      }
    };
    await Promise.all(Array.from({ length: jobLogins(targets.length) }, worker));
    if (progressTimer) clearTimeout(progressTimer);
    await writing;
    const status = finalStatus(results, signal.aborted);
    if (targets.length === 0) log += 'no assets matched\n';
    if (signal.aborted && typeof signal.reason === 'string') log += `canceled: ${signal.reason}\n`;
    await repo.update({ id: job.id }, { status, endedAt: new Date(), results: results as never, log });
  }
}

function firstLine(s: string): string {
  const line = s.trim().split('\n')[0] ?? '';
  return line.length > 160 ? line.slice(0, 157) + '…' : line;
}
