import type { DataSource } from 'typeorm';
import type { Actor } from '../actor.ts';
import type { Bus } from '../bus.ts';
import { ConflictError } from '../errors.ts';
import { writeOperation } from './operationLog.ts';
import type { SessionService } from './sessions.ts';

/** Ending live sessions from the web or the API, wherever the gateway holding them runs. */
export class SessionControl {
  constructor(private readonly ds: DataSource, private readonly bus: Bus, private readonly sessions: SessionService) {}

  async terminate(actor: Actor, sessionId: string): Promise<void> {
    const session = await this.sessions.get(sessionId);
    if (session.status !== 'active') throw new ConflictError(`the session is ${session.status}, not active`, { reason: 'session_not_active', status: session.status });
    await this.ds.transaction(async (em) => {
      await writeOperation(em, actor, { action: 'terminate', resourceType: 'session', resourceId: sessionId, resourceName: `${session.username}@${session.assetName}` });
    });
    this.bus.publish('session.terminate', { sessionId, by: actor.username, reason: `terminated by ${actor.username}` });
  }
}
