import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { DataSource } from 'typeorm';
import { SqliteQueryRunner } from 'typeorm/driver/sqlite/SqliteQueryRunner.js';
import type { Database } from '../config.ts';
import { allEntities } from './entities/index.ts';
import { migrations } from '../../migrations/index.ts';
import { touchPrivate } from '../dataDir.ts';

/**
 * SQLite shared by several processes (gateway workers, the web server): a deferred
 * transaction that reads and then writes fails with SQLITE_BUSY when another process
 * committed in between, and no retry of that statement can succeed. Taking the write lock
 * at BEGIN (IMMEDIATE) makes such transactions wait their turn instead (busy_timeout).
 */
let immediateTransactions = false;
function useImmediateTransactions(): void {
  if (immediateTransactions) return;
  immediateTransactions = true;
  const proto = SqliteQueryRunner.prototype as unknown as { query: (q: string, ...rest: unknown[]) => Promise<unknown> };
  const original = proto.query;
  proto.query = function (this: unknown, q: string, ...rest: unknown[]) {
    return original.call(this, q === 'BEGIN TRANSACTION' ? 'BEGIN IMMEDIATE TRANSACTION' : q, ...rest);
  };
}

/** How long a statement waits for another process's lock on the SQLite file before SQLITE_BUSY. */
const SQLITE_BUSY_TIMEOUT_MS = 10_000;

/**
 * node-sqlite3 whose connections wait for a lock from their first statement on. TypeORM's
 * first statement is `PRAGMA journal_mode = WAL`, which needs the file's lock, and it sets a
 * busy timeout (if asked) only after it: a process opening the file while another held it
 * (three `bastion migrate` at once on an empty data dir, ci45) failed at once with SQLITE_BUSY.
 * The timeout is set here, scheduled right after the open, ahead of every statement.
 */
interface SqliteDriver { Database: typeof import('sqlite3').Database; verbose(): SqliteDriver }
let busyWaitingSqlite: SqliteDriver | undefined;
/** Loaded on first use, as TypeORM loads sqlite3 itself: a process on PostgreSQL never loads it. */
function busyWaitingDriver(): SqliteDriver {
  if (busyWaitingSqlite) return busyWaitingSqlite;
  const sqlite3 = createRequire(import.meta.url)('sqlite3') as typeof import('sqlite3');
  class BusyWaitingDatabase extends sqlite3.Database {
    constructor(file: string, mode?: number | ((err: Error | null) => void), callback?: (err: Error | null) => void) {
      if (typeof mode === 'function') super(file, mode);
      else super(file, mode, callback);
      this.configure('busyTimeout', SQLITE_BUSY_TIMEOUT_MS);
    }
  }
  const driver: SqliteDriver = {
    ...sqlite3,
    Database: BusyWaitingDatabase,
    // TypeORM loads the driver through verbose().
    verbose: () => driver,
  };
  busyWaitingSqlite = driver;
  return driver;
}

/** Builds the data source. Schema changes only ever come from migrations/, never synchronize. */
export function createDataSource(db: Database): DataSource {
  if (db.kind === 'postgres') {
    return new DataSource({
      type: 'postgres',
      url: db.url.reveal(),
      entities: allEntities,
      migrations,
      synchronize: false,
      migrationsRun: false,
      logging: false,
      extra: { max: 20 },
    });
  }
  // SQLite creates its WAL and SHM files with the database file's mode: 0600 for all three.
  touchPrivate(db.file);
  useImmediateTransactions();
  return new DataSource({
    type: 'sqlite',
    driver: busyWaitingDriver(),
    database: db.file,
    entities: allEntities,
    migrations,
    synchronize: false,
    migrationsRun: false,
    logging: false,
    enableWAL: true,
  });
}

/**
 * TypeORM runs SQLite on one connection, so two transactions that overlap in time would
 * share it ("cannot start a transaction within a transaction", or worse, one's statements
 * in the other's). Transactions therefore take turns; a transaction opened inside another
 * (same async flow) runs directly instead of waiting for itself.
 *
 * The async flow is followed with an AsyncLocalStorage, enabled only while a transaction runs:
 * in Node 20 an enabled one keeps async hooks on for the whole process, so that every promise
 * and every native request (each socket write, each randomFillSync of ssh2's packet padding)
 * calls into JavaScript when it is made — a tax on the gateway's data path (issue 13) for a
 * question asked only inside transactions. Between transactions nothing can be inside one.
 */
function serializeTransactions(ds: DataSource): void {
  const inside = new AsyncLocalStorage<TransactionMark>();
  const manager = ds.manager;
  const original = manager.transaction.bind(manager) as (...args: unknown[]) => Promise<unknown>;
  let chain: Promise<unknown> = Promise.resolve();
  (manager as unknown as { transaction: (...args: unknown[]) => Promise<unknown> }).transaction = (...args: unknown[]) => {
    // A flow started inside a transaction may outlive it and keep its mark: once that
    // transaction ended, the flow waits its turn like any other (else it would run inside
    // whichever transaction is running then).
    if (inside.getStore()?.done === false) return original(...args);
    const run = chain.then(async () => {
      const mark: TransactionMark = { done: false };
      try {
        return await inside.run(mark, () => original(...args));
      } finally {
        mark.done = true;
        // The next one (chained) enables it again; none runs meanwhile, they take turns.
        inside.disable();
      }
    });
    chain = run.catch(() => undefined);
    return run;
  };
}

/** What the async flow of one serialized transaction carries: whether that transaction is over. */
interface TransactionMark {
  done: boolean;
}

export async function openDatabase(db: Database, opts: { migrate: boolean }): Promise<DataSource> {
  const ds = createDataSource(db);
  await ds.initialize();
  if (db.kind === 'sqlite') {
    await ds.query('PRAGMA foreign_keys = ON');
    await ds.query(`PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    await ds.query('PRAGMA synchronous = NORMAL');
    serializeTransactions(ds);
  }
  // On SQLite the startup lock is itself a transaction, so the migrations run inside it.
  if (opts.migrate) await underStartupLock(ds, () => ds.runMigrations({ transaction: db.kind === 'postgres' ? 'each' : 'none' }));
  return ds;
}

/** Any constant: the key of the PostgreSQL advisory lock that start-up work takes. */
const STARTUP_LOCK = 7_364_019_221;

/**
 * Runs start-up work (migrations, the first admin) one process at a time: several
 * `bastion server` and `bastion gateway` processes may start together, and two of them
 * running the same migration or creating the same admin would fail one of them. On
 * PostgreSQL an advisory lock; on SQLite one IMMEDIATE transaction around the whole work,
 * so that the check ("is the migration applied? is there an admin?") and the write are one
 * step (`work` must not open transactions of its own there).
 */
export async function underStartupLock<T>(ds: DataSource, work: () => Promise<T>): Promise<T> {
  if (ds.options.type !== 'postgres') {
    await ds.query('BEGIN IMMEDIATE');
    try {
      const result = await work();
      await ds.query('COMMIT');
      return result;
    } catch (err) {
      await ds.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [STARTUP_LOCK]);
    try {
      return await work();
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [STARTUP_LOCK]);
    }
  } finally {
    await runner.release();
  }
}
