// SQLite through TypeORM runs every query on one connection, so two transactions that
// overlap fail ("cannot start a transaction within a transaction"). Until core serializes
// its own transactions, the gateway runs its login writes (LoginLog rows, lockout counters,
// password changes) one at a time when the database is SQLite. PostgreSQL has a pool and
// needs none of this. Never held across a prompt to the operator.
import type { Database } from '../core/config.ts';

export interface Serial {
  run<T>(fn: () => Promise<T>): Promise<T>;
}

export function serialFor(db: Database): Serial {
  if (db.kind !== 'sqlite') return { run: (fn) => fn() };
  let chain: Promise<unknown> = Promise.resolve();
  return {
    run<T>(fn: () => Promise<T>): Promise<T> {
      const next = chain.then(fn);
      chain = next.catch(() => undefined);
      return next;
    },
  };
}
