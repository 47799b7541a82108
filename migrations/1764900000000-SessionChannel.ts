import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

// Frozen. Which face a session came through: 'ssh' (the gateway) or 'web' (the browser's
// terminal, over the same channel pipeline). Rows from before were all SSH.
export class SessionChannel1764900000000 implements MigrationInterface {
  name = 'SessionChannel1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('session', new TableColumn({ name: 'channel', type: 'varchar', length: '8', isNullable: false, default: "'ssh'" }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('session', 'channel');
  }
}
