import type { Actor } from '../actor.ts';
import type { Bus } from '../bus.ts';
import { NotFoundError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { DataSource } from 'typeorm';
import { writeOperation } from './operationLog.ts';

export interface ConfirmationRequest {
  id: string;
  sessionId: string;
  username: string;
  assetName: string;
  systemUsername: string;
  command: string;
  filter: string;
  createdAt: Date;
  expiresAt: Date;
}

export type ConfirmationOutcome = { approved: boolean; by: string } | { approved: false; by: null; timedOut: true };

/**
 * Commands held by a `confirm` filter wait here until an admin approves or rejects them, or
 * the wait times out (which rejects). Pending requests live in the process that holds the
 * session; decisions travel over the bus.
 */
export class CommandConfirmations {
  readonly #pending = new Map<string, ConfirmationRequest>();

  constructor(private readonly ds: DataSource, private readonly bus: Bus) {}

  pending(): ConfirmationRequest[] {
    return [...this.#pending.values()].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  request(init: Omit<ConfirmationRequest, 'id' | 'createdAt' | 'expiresAt'>, timeoutMs: number, signal?: AbortSignal): Promise<ConfirmationOutcome> {
    const now = new Date();
    const req: ConfirmationRequest = { ...init, id: newId(), createdAt: now, expiresAt: new Date(now.getTime() + timeoutMs) };
    this.#pending.set(req.id, req);
    return new Promise((resolve) => {
      const done = (outcome: ConfirmationOutcome) => {
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        this.#pending.delete(req.id);
        resolve(outcome);
      };
      const onAbort = () => done({ approved: false, by: null, timedOut: true });
      const timer = setTimeout(onAbort, timeoutMs);
      const unsubscribe = this.bus.subscribe('command.decided', (m) => {
        if (m.requestId === req.id) done({ approved: m.approved, by: m.by });
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async decide(actor: Actor, requestId: string, approved: boolean): Promise<void> {
    const req = this.#pending.get(requestId);
    if (!req) throw new NotFoundError('no such pending command (it may have timed out)');
    await this.ds.transaction(async (em) => {
      await writeOperation(em, actor, { action: approved ? 'approve_command' : 'reject_command', resourceType: 'session', resourceId: req.sessionId, resourceName: req.command.slice(0, 200) });
    });
    this.bus.publish('command.decided', { requestId, approved, by: actor.username });
  }
}
