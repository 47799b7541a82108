import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

// Frozen. Remembers the time step of the last TOTP code used, so a code cannot be replayed.
export class TotpLastStep1764100000000 implements MigrationInterface {
  name = 'TotpLastStep1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('user', new TableColumn({ name: 'totp_last_step', type: 'bigint', isNullable: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('user', 'totp_last_step');
  }
}
