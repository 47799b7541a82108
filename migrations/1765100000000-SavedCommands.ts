import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

// Frozen. Saved commands (issue 15 item 4): a named command with its system user and default
// targets (asset and node ids as JSON text, as simple-json stores them), run by operators where
// core/access lets them, through the command filters like any job. The name is unique.
export class SavedCommands1765100000000 implements MigrationInterface {
  name = 'SavedCommands1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({
      name: 'saved_command',
      columns: [
        { name: 'id', type: 'varchar', length: '36', isPrimary: true },
        { name: 'name', type: 'varchar', length: '128', isUnique: true },
        { name: 'command', type: 'text' },
        { name: 'system_user_id', type: 'varchar', length: '36' },
        { name: 'asset_ids', type: 'text' },
        { name: 'node_ids', type: 'text' },
        { name: 'timeout_seconds', type: 'integer', default: 60 },
        { name: 'comment', type: 'text' },
        { name: 'created_by', type: 'varchar', length: '36', isNullable: true },
        { name: 'created_at', type: 'bigint' },
        { name: 'updated_at', type: 'bigint' },
      ],
      foreignKeys: [{ columnNames: ['system_user_id'], referencedTableName: 'system_user', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
    }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('saved_command');
  }
}
