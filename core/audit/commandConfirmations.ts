import type { DataSource, EntityManager } from 'typeorm';
import type { Actor } from '../actor.ts';
import type { Bus, BusMessages } from '../bus.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';
import { CommandConfirmationEntity } from '../db/entities/index.ts';
import { newId } from '../ids.ts';
import { writeOperation } from './operationLog.ts';

export interface ConfirmationRequest {
  id: string;
  /** What holds the command: an SSH session's line, or a command job (one request per job). */
  sessionId: string | null;
  jobId: string | null;
  /** Whose command it is: the four-eyes check compares ids (a username can be changed meanwhile). */
  userId?: string | null;
  username: string;
  assetName: string;
  systemUsername: string;
  command: string;
  filter: string;
  createdAt: Date;
  expiresAt: Date;
}

export type ConfirmationOutcome = { approved: boolean; by: string } | { approved: false; by: null; timedOut: true };

type Pending = BusMessages['command.pending'];

/** The holder stopped waiting (timed out, withdrawn, or the claim could not be written or read): the command does not run. */
const NO_DECISION: ConfirmationOutcome = { approved: false, by: null, timedOut: true };

/** A claim row this long past its expiry belongs to a holder that is gone. */
const STALE_CLAIM_MS = 60 * 60 * 1000;

/**
 * Commands held by a `confirm` filter wait until an admin approves or rejects them, or the
 * wait times out (which rejects). Requests and decisions travel over the bus, so the web
 * server sees what a gateway worker holds and the worker hears the decision.
 *
 * The list of pending commands is a cache of what other processes hold, kept by the bus alone:
 * a process that may have missed announcements (it just started, e.g. a web server restarted
 * while a gateway holds a command; or its PostgreSQL bus came back) asks with `command.sync`,
 * and every process announces the commands it is still holding again.
 */
export class CommandConfirmations {
  readonly #pending = new Map<string, Pending>();
  /** The requests this process is waiting on: the ones it announces again when asked. */
  readonly #mine = new Map<string, Pending>();

  constructor(private readonly ds: DataSource, private readonly bus: Bus) {
    bus.subscribe('command.pending', (m) => { this.#pending.set(m.id, m); });
    bus.subscribe('command.decided', (m) => { this.#pending.delete(m.requestId); });
    bus.subscribe('command.sync', () => {
      const now = Date.now();
      for (const m of this.#mine.values()) if (m.expiresAt > now) bus.publish('command.pending', m);
    });
    // The PostgreSQL bus says `access.changed all` after a reconnection: announcements may be lost too.
    bus.subscribe('access.changed', (m) => { if (m.kind === 'all') bus.publish('command.sync', { reason: 'reconnect' }); });
    bus.publish('command.sync', { reason: 'start' });
  }

  pending(): ConfirmationRequest[] {
    const now = Date.now();
    return [...this.#pending.values()]
      .filter((p) => p.expiresAt > now)
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((p) => ({ ...p, createdAt: new Date(p.createdAt), expiresAt: new Date(p.expiresAt) }));
  }

  /**
   * Holds a command until an admin decides. Its claim row is written before the request is
   * announced; when the holder stops waiting (time out, `signal`) it withdraws the row unless a
   * decision was claimed first, which then stands (its bus message may still be on its way, or lost).
   */
  request(init: Omit<ConfirmationRequest, 'id' | 'createdAt' | 'expiresAt'>, timeoutMs: number, signal?: AbortSignal): Promise<ConfirmationOutcome> {
    const now = Date.now();
    const id = newId();
    const claims = this.ds.getRepository(CommandConfirmationEntity);
    return new Promise((resolve) => {
      let settled = false;
      let waiting = false;
      const done = (outcome: ConfirmationOutcome) => {
        if (settled) return;
        settled = true;
        this.#mine.delete(id);
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const onAbort = () => {
        if (settled) return;
        if (!waiting) { done(NO_DECISION); return; }
        void this.#withdraw(id).then((outcome) => {
          if (outcome.by === null) this.bus.publish('command.decided', { requestId: id, approved: false, by: null });
          done(outcome);
        });
      };
      const timer = setTimeout(onAbort, timeoutMs);
      const unsubscribe = this.bus.subscribe('command.decided', (m) => {
        if (m.requestId === id && m.by !== null) done({ approved: m.approved, by: m.by });
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) { onAbort(); return; }
      const pending: Pending = { ...init, id, createdAt: now, expiresAt: now + timeoutMs };
      // Decided and withdrawn rows stay a while (a late decision is told who decided); they, and
      // rows left by a process that died while it held a command, go with a later request.
      void claims.createQueryBuilder().delete().where('expires_at < :stale', { stale: now - STALE_CLAIM_MS }).execute().catch(() => undefined);
      claims.insert({ id, status: 'pending', decidedBy: null, expiresAt: new Date(pending.expiresAt) }).then(() => {
        if (settled) return;
        waiting = true;
        this.#mine.set(id, pending);
        this.bus.publish('command.pending', pending);
      }, () => done(NO_DECISION));
    });
  }

  /** The holder stops waiting: the row is withdrawn, unless an admin's decision was claimed first. */
  async #withdraw(id: string): Promise<ConfirmationOutcome> {
    try {
      const res = await this.ds.getRepository(CommandConfirmationEntity).createQueryBuilder().update()
        .set({ status: 'withdrawn' }).where('id = :id AND status = :pending', { id, pending: 'pending' }).execute();
      if (res.affected === 1) return NO_DECISION;
      const row = await this.ds.getRepository(CommandConfirmationEntity).findOneBy({ id });
      if (row?.decidedBy && (row.status === 'approved' || row.status === 'rejected')) return { approved: row.status === 'approved', by: row.decidedBy };
    } catch {
      // The claim cannot be read: the command does not run.
    }
    return NO_DECISION;
  }

  /** Why a request cannot be decided (anymore), from its claim; null when it could be. */
  async #whyNotDecidable(em: EntityManager, requestId: string): Promise<ConflictError | null> {
    const row = await em.getRepository(CommandConfirmationEntity).findOneBy({ id: requestId });
    if (!row) return null;
    if (row.status === 'approved' || row.status === 'rejected') {
      return new ConflictError(`this command was already ${row.status} by ${row.decidedBy ?? 'another administrator'}`, { reason: 'confirmation_decided' });
    }
    return row.status === 'withdrawn' || row.expiresAt.getTime() <= Date.now() ? closed() : null;
  }

  /**
   * Decides a held command. The claim is the database's: the row changes from `pending` only once,
   * whichever process an approval and a rejection sent at once reach; the loser is told who won.
   */
  async decide(actor: Actor, requestId: string, approved: boolean): Promise<void> {
    const req = this.#pending.get(requestId);
    // Gone from this process's list: another process's decision may have been heard first; its claim says.
    if (!req) throw (await this.#whyNotDecidable(this.ds.manager, requestId)) ?? new NotFoundError('no such pending command (it may have timed out)', { reason: 'confirmation_not_found' });
    // Four eyes: a confirm filter asks someone else to look at the command. An admin who could
    // approve their own would make the filter a prompt they click through (an admin who wants
    // that can change the filter, which is logged as such).
    // By id: an admin who renamed themselves (PATCH /users/:id) after their command was held
    // no longer had the username it was held under, and could approve it.
    if ((req.userId && req.userId === actor.id) || req.username === actor.username) throw new ForbiddenError('you cannot decide on your own command; another administrator must', { reason: 'own_confirmation' });
    await this.ds.transaction(async (em) => {
      const claims = em.getRepository(CommandConfirmationEntity);
      const res = await claims.createQueryBuilder().update()
        .set({ status: approved ? 'approved' : 'rejected', decidedBy: actor.username.slice(0, 64) })
        .where('id = :id AND status = :pending AND expires_at > :now', { id: requestId, pending: 'pending', now: Date.now() })
        .execute();
      if (res.affected !== 1) throw (await this.#whyNotDecidable(em, requestId)) ?? closed();
      // In the claim's transaction: a decision that cannot be logged is not taken, and it waits again.
      await writeOperation(em, actor, { action: approved ? 'approve_command' : 'reject_command', resourceType: req.jobId ? 'job' : 'session', resourceId: req.jobId ?? req.sessionId ?? '', resourceName: req.command.slice(0, 200) });
    });
    this.#pending.delete(requestId);
    this.bus.publish('command.decided', { requestId, approved, by: actor.username });
  }
}

function closed(): ConflictError {
  return new ConflictError('this command no longer waits for a decision (it timed out or was withdrawn)', { reason: 'confirmation_closed' });
}
