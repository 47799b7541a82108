import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

// Frozen. Login throttling counters shared by every process through the database: failures per
// (username, source address) that lock that pair, failures per account that only slow it
// down, and attempts per source address per minute. One row per key, updated by one atomic
// upsert (INSERT … ON CONFLICT DO UPDATE … RETURNING), so parallel attempts cannot race.
export class LoginThrottle1764600000000 implements MigrationInterface {
  name = 'LoginThrottle1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({
      name: 'login_throttle',
      columns: [
        { name: 'key', type: 'varchar', length: '300', isPrimary: true },
        { name: 'kind', type: 'varchar', length: '8' },
        { name: 'username', type: 'varchar', length: '128', isNullable: true },
        { name: 'source', type: 'varchar', length: '64', isNullable: true },
        { name: 'hits', type: 'integer', default: 0 },
        { name: 'inflight', type: 'integer', default: 0 },
        { name: 'window_start', type: 'bigint' },
      ],
      indices: [{ columnNames: ['kind', 'username'] }, { columnNames: ['window_start'] }],
    }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('login_throttle');
  }
}
