// The web file manager's sessions in this process: one per (user, asset, system user), opened
// at the first request and shared by the next ones (a directory listing does not log in to the
// asset again), ended when unused for IDLE_MS, when the registry terminates it (rule 11, an
// admin) or when the process stops. Each is one Session row (kind sftp) with its FileTransfer rows.
import type { GatewayContext } from '../context.ts';
import { FileSession, type WebOperator } from './fileSession.ts';
import { UploadBudget } from './uploadBudget.ts';

/** A file-manager session nobody used for this long is ended (the browser holds nothing open). */
const IDLE_MS = 120_000;
const SWEEP_MS = 15_000;

export class FileSessions {
  readonly #open = new Map<string, Promise<FileSession>>();
  readonly #timer: NodeJS.Timeout;
  /** Upload bytes in flight per user, across all of this process's file sessions. */
  readonly uploads: UploadBudget;

  constructor(private readonly gw: GatewayContext) {
    this.uploads = new UploadBudget(gw.services.config.uploadInFlightBytesPerUser);
    this.#timer = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#timer.unref();
  }

  /** The caller's session for this target, opened now if there is none (or it has ended). */
  async get(op: WebOperator, asset: string, systemUser: string | null): Promise<FileSession> {
    const key = `${op.user.id}\u0000${asset}\u0000${systemUser ?? ''}`;
    const existing = this.#open.get(key);
    if (existing) {
      const fs = await existing.catch(() => null);
      if (fs && !fs.closed) return fs;
      if (this.#open.get(key) === existing) this.#open.delete(key);
    }
    const opening = FileSession.open(this.gw, op, asset, systemUser, this.uploads);
    this.#open.set(key, opening);
    opening.catch(() => {
      if (this.#open.get(key) === opening) this.#open.delete(key);
    });
    return opening;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, p] of this.#open) {
      void p.then((fs) => {
        if (fs.closed) {
          if (this.#open.get(key) === p) this.#open.delete(key);
          return;
        }
        if (fs.busy > 0 || now - fs.lastUsedAt < IDLE_MS) return;
        this.#open.delete(key);
        void fs.close(`the file manager was not used for ${IDLE_MS / 1000} seconds`);
      }, () => undefined);
    }
  }

  /** Ends every session (the HTTP server is stopping). */
  async closeAll(reason: string): Promise<void> {
    clearInterval(this.#timer);
    const all = [...this.#open.values()];
    this.#open.clear();
    await Promise.all(all.map((p) => p.then((fs) => fs.close(reason), () => undefined)));
  }
}
