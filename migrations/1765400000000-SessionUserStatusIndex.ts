import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

// Frozen. Every session start counts the user's active sessions (BASTION_MAX_SESSIONS_PER_USER,
// 64 by default): an index on (user_id, status) keeps that count to the user's active rows,
// not every session the user ever had.
export class SessionUserStatusIndex1765400000000 implements MigrationInterface {
  name = 'SessionUserStatusIndex1765400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex('session', new TableIndex({ name: 'IDX_session_user_status', columnNames: ['user_id', 'status'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('session', 'IDX_session_user_status');
  }
}
