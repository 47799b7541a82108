/**
 * Tells caches (the access resolution above all) that something they derive from changed.
 * In one process this is direct; across processes the access cache also expires by age.
 */
export type ChangeKind = 'users' | 'groups' | 'assets' | 'nodes' | 'systemUsers' | 'permissions';

export class ChangeFeed {
  #listeners = new Set<(kind: ChangeKind) => void>();
  subscribe(fn: (kind: ChangeKind) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }
  emit(kind: ChangeKind): void {
    for (const fn of this.#listeners) fn(kind);
  }
}
