// BASTION_MAX_SESSIONS_PER_USER bounds the logins one user holds on assets through the bastion at
// once, whatever holds them: an SSH or web session holds one, a queued or running job one per
// asset it works on at once. A session's start and a job's start count the same way here, under
// the user's row lock (PostgreSQL; SQLite's transactions take turns), so that starts of either
// kind at the same moment, in any process, count each other and the limit is never passed.
import { In, type EntityManager } from 'typeorm';
import { JobEntity, SessionEntity } from '../db/entities/index.ts';
import { ConflictError } from '../errors.ts';
import { lockUserRow } from '../identity/userRowLock.ts';

/** How many of its assets one job works on at once (JobService's concurrency). */
export const JOB_ASSETS_AT_ONCE = 8;

/** The logins a job over `assets` assets holds at once. */
export function jobLogins(assets: number): number {
  return Math.min(JOB_ASSETS_AT_ONCE, Math.max(1, assets));
}

/** What the user holds now, in any process: active sessions, and the logins of their queued and running jobs. */
export async function loginsHeld(em: EntityManager, userId: string): Promise<{ sessions: number; jobs: number }> {
  const sessions = await em.getRepository(SessionEntity).countBy({ userId, status: 'active' });
  const running = await em.getRepository(JobEntity).find({ select: { id: true, params: true }, where: { createdBy: userId, status: In(['queued', 'running']) } });
  const jobs = running.reduce((n, j) => n + jobLogins(Number((j.params as { assetsTotal?: unknown }).assetsTotal) || 1), 0);
  return { sessions, jobs };
}

/**
 * Locks the user's row for the rest of `em`'s transaction (the caller inserts its session or job
 * row in that same transaction), then refuses `adding` more logins that would take the user past `max`.
 */
export async function refuseOverLoginLimit(em: EntityManager, userId: string, max: number, adding: { sessions?: number; jobLogins?: number }): Promise<void> {
  await lockUserRow(em, userId);
  const held = await loginsHeld(em, userId);
  const jobsCounted = held.jobs + (adding.jobLogins ?? 0);
  if (held.sessions + jobsCounted + (adding.sessions ?? 0) > max) {
    throw sessionLimitReached(max, jobsCounted > 0 ? 'jobs count one per asset they work on at once' : '');
  }
}

/** The refusal at BASTION_MAX_SESSIONS_PER_USER; `counting` says what else was counted. */
function sessionLimitReached(max: number, counting = ''): ConflictError {
  return new ConflictError(`you already have ${max} active session${max === 1 ? '' : 's'}${counting ? ` (${counting})` : ''}, the most allowed; end one first`, { reason: 'session_limit_reached', limit: max });
}
