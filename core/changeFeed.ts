import type { Bus } from './bus.ts';

/**
 * Tells caches (the access resolution above all) that something they derive from changed.
 * In one process this is direct; connected to a cluster bus it also reaches, and hears,
 * the other processes. The access cache also expires by age as a backstop.
 */
export type ChangeKind = 'users' | 'groups' | 'assets' | 'nodes' | 'systemUsers' | 'permissions';

export class ChangeFeed {
  #listeners = new Set<(kind: ChangeKind) => void>();
  #bus: Bus | null = null;
  #publishing = false;

  connect(bus: Bus): void {
    this.#bus = bus;
    bus.subscribe('access.changed', (m) => {
      // The bus delivers our own publication locally, synchronously: skip it, listeners already heard.
      if (this.#publishing) return;
      this.#notify(m.kind as ChangeKind);
    });
  }

  subscribe(fn: (kind: ChangeKind) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  emit(kind: ChangeKind): void {
    this.#notify(kind);
    if (!this.#bus) return;
    this.#publishing = true;
    try {
      this.#bus.publish('access.changed', { kind });
    } finally {
      this.#publishing = false;
    }
  }

  #notify(kind: ChangeKind): void {
    for (const fn of this.#listeners) fn(kind);
  }
}
