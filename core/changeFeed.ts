import type { Bus } from './bus.ts';

/**
 * Tells caches of domain data that something they derive from changed: the access resolution
 * (users, groups, assets, nodes, system users, permissions) and the compiled command filters.
 * In one process this is direct; connected to the bus it also reaches, and hears, every other
 * process (gateway workers through the cluster bus, other hosts through PostgreSQL). These
 * messages are how caches stay right (DESIGN rule 12), not their age. `all` means "assume
 * anything changed": the PostgreSQL bus says it after its connection came back, since messages
 * sent while it was down are lost.
 */
export type ChangeKind = 'users' | 'groups' | 'assets' | 'nodes' | 'systemUsers' | 'permissions' | 'commandFilters' | 'all';

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
