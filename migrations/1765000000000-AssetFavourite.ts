import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

// Frozen. An operator's favourite (asset, system user) pairs for "My assets", kept per user on
// the server (they follow the operator from browser to browser). Removing the user, asset or
// system user removes the favourite. "Recently used" needs no table: it is read from the
// operator's own Session rows, which the index below serves.
export class AssetFavourite1765000000000 implements MigrationInterface {
  name = 'AssetFavourite1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({
      name: 'asset_favourite',
      columns: [
        { name: 'user_id', type: 'varchar', length: '36', isPrimary: true },
        { name: 'asset_id', type: 'varchar', length: '36', isPrimary: true },
        { name: 'system_user_id', type: 'varchar', length: '36', isPrimary: true },
        { name: 'created_at', type: 'bigint' },
      ],
      foreignKeys: [
        { columnNames: ['user_id'], referencedTableName: 'user', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
        { columnNames: ['asset_id'], referencedTableName: 'asset', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
        { columnNames: ['system_user_id'], referencedTableName: 'system_user', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
      ],
    }));
    await q.createIndex('session', new TableIndex({ name: 'IDX_session_user_started', columnNames: ['user_id', 'started_at'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('session', 'IDX_session_user_started');
    await q.dropTable('asset_favourite');
  }
}
