import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

// Frozen. BASTION_MAX_CONNECTIONS_PER_USER bounds the SSH connections one user holds logged in
// at once, in every gateway process: each holds one row here from its login to its close, kept
// alive by its process's heartbeat (a row left unmarked has lost its process and no longer counts).
export class SshConnectionLeases1765700000000 implements MigrationInterface {
  name = 'SshConnectionLeases1765700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({
      name: 'ssh_connection',
      columns: [
        { name: 'id', type: 'varchar', length: '36', isPrimary: true },
        { name: 'user_id', type: 'varchar', length: '36' },
        { name: 'client_address', type: 'varchar', length: '64' },
        { name: 'started_at', type: 'bigint' },
        { name: 'heartbeat_at', type: 'bigint' },
      ],
    }));
    await q.createIndex('ssh_connection', new TableIndex({ name: 'IDX_ssh_connection_user', columnNames: ['user_id'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('ssh_connection');
  }
}
