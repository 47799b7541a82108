// The rights and the record of an SFTP session, whichever face drives it: the SSH `sftp`
// subsystem (channels/sftp.ts) and the web file manager (webFiles/fileSession.ts) ask the same
// questions the same way, so a permission means the same on both.
import type { GatewayContext } from '../context.ts';
import type { LiveSession } from '../liveSession.ts';
import type { SftpPolicy } from './sftpProxy.ts';
import { TransferRows } from '../channels/transferRows.ts';

export interface SessionSftpPolicy extends SftpPolicy {
  /** Resolves once every FileTransfer row recorded so far is written. */
  flushed(): Promise<void>;
}

/**
 * `upload` / `download` are asked of core/access afresh at each request, so a permission
 * changed during the session counts at once; rows go to the session's FileTransfer log.
 * `session` is read at each call: requests can come before the session row exists.
 */
export function sessionSftpPolicy(gw: GatewayContext, session: () => LiveSession | null): SessionSftpPolicy {
  const rows = new TransferRows(gw, session);
  return {
    refusal: async (action) => {
      const live = session();
      if (!live) return `${action} is not allowed`;
      const holds = await gw.services.access.stillHolds(live.grant, action);
      return holds ? null : `${action} is not allowed to you on ${live.grant.asset.name}`;
    },
    whileAllowed: (action, onLost) => session()?.whileAllowed(action, onLost) ?? (() => undefined),
    record: (entry) => rows.record(entry),
    count: (input, output) => session()?.transferred(input, output),
    flushed: () => rows.flushed(),
  };
}
