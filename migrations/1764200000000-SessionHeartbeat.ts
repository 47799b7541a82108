import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

// Frozen. Live sessions carry the time their gateway last said they are alive, so that a
// process starting elsewhere (a web server, another gateway) closes only the sessions
// whose gateway is gone, not the ones a running gateway holds.
export class SessionHeartbeat1764200000000 implements MigrationInterface {
  name = 'SessionHeartbeat1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('session', new TableColumn({ name: 'heartbeat_at', type: 'bigint', isNullable: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('session', 'heartbeat_at');
  }
}
