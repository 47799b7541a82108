// exec and SFTP log in to the asset while their Session row is written (a command is often
// short: the two round trips overlap). The row is where BASTION_MAX_SESSIONS_PER_USER refuses,
// so without a bound every channel an operator opened at the limit logged in to the asset and
// was then refused: a flood of channels was a flood of logins (rule 13). A login starts early
// only while this process holds fewer of the user's sessions and early logins than the limit;
// otherwise it waits for the row, and a channel refused there never reaches the asset.
import type { GatewayContext, Operator } from './context.ts';
import type { BackendClient } from './backend.ts';
import { LiveSession, type LiveSessionInit } from './liveSession.ts';

export interface OpenedWithLogin {
  live: LiveSession;
  /** The asset's login: the one started early, or one started now. */
  backend(): Promise<BackendClient>;
  /** Not going on (a filter refused the command): a login started early is ended. */
  drop(): void;
}

/**
 * Opens the session (its row, under the per-user limit) and, when the limit leaves room, starts
 * `dial` at the same time; `dial` null: nothing is to be dialled (a refusal still gets its row).
 * When the row is refused, a login started early is ended.
 */
export async function openWithLogin(gw: GatewayContext, op: Operator, init: LiveSessionInit, dial: (() => Promise<BackendClient>) | null): Promise<OpenedWithLogin> {
  const release = dial ? gw.sessions.earlyLogin(op.user.id, gw.services.config.maxSessionsPerUser) : null;
  const early = release ? dial!() : null;
  early?.catch(() => undefined);
  let live: LiveSession;
  try {
    live = await LiveSession.open(gw, op, init);
  } catch (err) {
    void early?.then((c) => c.end(), () => undefined);
    throw err;
  } finally {
    release?.();
  }
  return {
    live,
    backend: () => early ?? (dial ? dial() : Promise.reject(new Error('nothing to dial'))),
    drop: () => void early?.then((c) => c.end(), () => undefined),
  };
}
