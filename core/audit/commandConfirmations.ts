import type { DataSource } from 'typeorm';
import type { Actor } from '../actor.ts';
import type { Bus, BusMessages } from '../bus.ts';
import { ForbiddenError, NotFoundError } from '../errors.ts';
import { newId } from '../ids.ts';
import { writeOperation } from './operationLog.ts';

export interface ConfirmationRequest {
  id: string;
  /** What holds the command: an SSH session's line, or a command job (one request per job). */
  sessionId: string | null;
  jobId: string | null;
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

  request(init: Omit<ConfirmationRequest, 'id' | 'createdAt' | 'expiresAt'>, timeoutMs: number, signal?: AbortSignal): Promise<ConfirmationOutcome> {
    const now = Date.now();
    const id = newId();
    return new Promise((resolve) => {
      let settled = false;
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
        done({ approved: false, by: null, timedOut: true });
        this.bus.publish('command.decided', { requestId: id, approved: false, by: null });
      };
      const timer = setTimeout(onAbort, timeoutMs);
      const unsubscribe = this.bus.subscribe('command.decided', (m) => {
        if (m.requestId === id && m.by !== null) done({ approved: m.approved, by: m.by });
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      const pending: Pending = { ...init, id, createdAt: now, expiresAt: now + timeoutMs };
      this.#mine.set(id, pending);
      this.bus.publish('command.pending', pending);
    });
  }

  async decide(actor: Actor, requestId: string, approved: boolean): Promise<void> {
    const req = this.#pending.get(requestId);
    if (!req) throw new NotFoundError('no such pending command (it may have timed out)', { reason: 'confirmation_not_found' });
    // Four eyes: a confirm filter asks someone else to look at the command. An admin who could
    // approve their own would make the filter a prompt they click through (an admin who wants
    // that can change the filter, which is logged as such).
    if (req.username === actor.username) throw new ForbiddenError('you cannot decide on your own command; another administrator must', { reason: 'own_confirmation' });
    // Claimed before the operation log is written (an await): an approval and a rejection sent
    // at once must not both pass, both be logged, and the holder run whichever came first.
    this.#pending.delete(requestId);
    let goneMeanwhile = false;
    const off = this.bus.subscribe('command.decided', (m) => { if (m.requestId === requestId) goneMeanwhile = true; });
    try {
      await this.ds.transaction(async (em) => {
        await writeOperation(em, actor, { action: approved ? 'approve_command' : 'reject_command', resourceType: req.jobId ? 'job' : 'session', resourceId: req.jobId ?? req.sessionId ?? '', resourceName: req.command.slice(0, 200) });
      });
    } catch (err) {
      // Not decided: it waits again (unless it was withdrawn or decided elsewhere meanwhile).
      if (!goneMeanwhile && req.expiresAt > Date.now()) this.#pending.set(requestId, req);
      throw err;
    } finally {
      off();
    }
    this.bus.publish('command.decided', { requestId, approved, by: actor.username });
  }
}
