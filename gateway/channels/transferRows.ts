// FileTransfer rows of one session (SFTP requests, legacy scp files): logged at once, written
// to the database in order in the background, and awaited before the session row is closed.
import type { GatewayContext } from '../context.ts';
import type { LiveSession } from '../liveSession.ts';
import type { TransferEntry } from '../sftp/sftpProxy.ts';

export class TransferRows {
  readonly #gw: GatewayContext;
  readonly #session: () => LiveSession | null;
  #writes: Promise<void> = Promise.resolve();

  /** `session` is read at each record: SFTP requests can arrive before the session row exists (they are then refused unrecorded). */
  constructor(gw: GatewayContext, session: () => LiveSession | null) {
    this.#gw = gw;
    this.#session = session;
  }

  record(entry: TransferEntry): void {
    const session = this.#session();
    if (!session) return;
    session.log.info({ operation: entry.operation, path: entry.path.slice(0, 300), size: entry.size, ok: entry.ok }, 'file transfer');
    this.#writes = this.#writes
      .then(() => this.#gw.services.fileTransfers.record(session.row, entry))
      .catch((err: unknown) => session.log.error({ err }, 'file transfer could not be saved'));
  }

  /** Resolves once every row recorded so far is written (or its failure logged). */
  flushed(): Promise<void> {
    return this.#writes;
  }
}
