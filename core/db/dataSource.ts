import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DataSource } from 'typeorm';
import type { Database } from '../config.ts';
import { allEntities } from './entities/index.ts';
import { migrations } from '../../migrations/index.ts';

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
  mkdirSync(path.dirname(db.file), { recursive: true });
  return new DataSource({
    type: 'sqlite',
    database: db.file,
    entities: allEntities,
    migrations,
    synchronize: false,
    migrationsRun: false,
    logging: false,
    busyErrorRetry: 200,
    enableWAL: true,
  });
}

export async function openDatabase(db: Database, opts: { migrate: boolean }): Promise<DataSource> {
  const ds = createDataSource(db);
  await ds.initialize();
  if (db.kind === 'sqlite') {
    await ds.query('PRAGMA foreign_keys = ON');
    await ds.query('PRAGMA busy_timeout = 5000');
    await ds.query('PRAGMA synchronous = NORMAL');
  }
  if (opts.migrate) await ds.runMigrations({ transaction: 'each' });
  return ds;
}
