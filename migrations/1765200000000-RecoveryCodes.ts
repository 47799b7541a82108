import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

// Frozen. One-time MFA recovery codes: ten per enrolment, only a keyed hash of each is kept, and
// `used_at` marks a code spent (claimed by one conditional UPDATE, so two logins cannot share it).
export class RecoveryCodes1765200000000 implements MigrationInterface {
  name = 'RecoveryCodes1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({
      name: 'recovery_code',
      columns: [
        { name: 'id', type: 'varchar', length: '36', isPrimary: true },
        { name: 'user_id', type: 'varchar', length: '36' },
        { name: 'code_hash', type: 'varchar', length: '64' },
        { name: 'used_at', type: 'bigint', isNullable: true },
        { name: 'created_at', type: 'bigint' },
      ],
      foreignKeys: [{ columnNames: ['user_id'], referencedTableName: 'user', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
      indices: [{ columnNames: ['user_id', 'code_hash'], isUnique: true }],
    }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('recovery_code');
  }
}
