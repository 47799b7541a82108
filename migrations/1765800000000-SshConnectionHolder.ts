import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

// Frozen. Which process holds each SSH connection's row (host and pid), so that `bastion start`,
// which sees its gateway worker die, frees that worker's connections at once instead of after
// three heartbeat periods. Rows written before this have none and are judged by heartbeat alone.
export class SshConnectionHolder1765800000000 implements MigrationInterface {
  name = 'SshConnectionHolder1765800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('ssh_connection', new TableColumn({ name: 'holder', type: 'varchar', length: '128', isNullable: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('ssh_connection', 'holder');
  }
}
