import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

// Frozen. A command held by a `confirm` filter is decided once across every process: its row is
// `pending` while its holder waits, and an approval or a rejection wins only by changing it from
// `pending` (a conditional UPDATE whose affected-row count decides).
export class CommandConfirmationClaims1765500000000 implements MigrationInterface {
  name = 'CommandConfirmationClaims1765500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({
      name: 'command_confirmation',
      columns: [
        { name: 'id', type: 'varchar', length: '36', isPrimary: true },
        { name: 'status', type: 'varchar', length: '16' },
        { name: 'decided_by', type: 'varchar', length: '64', isNullable: true },
        { name: 'expires_at', type: 'bigint' },
      ],
    }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('command_confirmation');
  }
}
