/**
 * What GET /readyz reports: each part this process depends on says whether it can serve now.
 * The database and the recordings store are added by createServices; a face adds its own
 * while it listens (the SSH gateway, or the gateway workers of a cluster primary).
 */
export type ReadinessCheck = () => Promise<void>;

export interface ReadinessReport {
  ready: boolean;
  /** 'ok', or why not. */
  checks: Record<string, string>;
}

export class Readiness {
  readonly #checks = new Map<string, ReadinessCheck>();

  /** A check that throws (or takes longer than the timeout) makes the process not ready. */
  add(name: string, check: ReadinessCheck): () => void {
    this.#checks.set(name, check);
    return () => {
      if (this.#checks.get(name) === check) this.#checks.delete(name);
    };
  }

  async report(timeoutMs = 2000): Promise<ReadinessReport> {
    const entries = await Promise.all([...this.#checks].map(async ([name, check]) => [name, await settle(check, timeoutMs)] as const));
    const checks = Object.fromEntries(entries);
    return { ready: entries.every(([, v]) => v === 'ok'), checks };
  }
}

async function settle(check: ReadinessCheck, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([check().then(() => 'ok'), timeout]);
  } catch (err) {
    // The reason an operator can act on, without internals (paths, addresses stay in the log).
    const code = (err as NodeJS.ErrnoException).code;
    return code ? `failed (${code})` : 'failed';
  } finally {
    clearTimeout(timer);
  }
}
