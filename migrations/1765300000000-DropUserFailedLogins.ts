import type { MigrationInterface, QueryRunner } from 'typeorm';

// Frozen. `user.failed_logins` was the first lockout counter; the login_throttle table (one
// atomic upsert per attempt, shared by every process) replaced it and nothing has read or
// written it since. Dropped in place (SQLite ≥ 3.35 and PostgreSQL both ALTER TABLE … DROP
// COLUMN) rather than by TypeORM's table rebuild, which on SQLite copies `user` and drops the
// original: with foreign keys on, that drop would cascade into every table referring to users.
export class DropUserFailedLogins1765300000000 implements MigrationInterface {
  name = 'DropUserFailedLogins1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "user" DROP COLUMN "failed_logins"');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "user" ADD COLUMN "failed_logins" integer NOT NULL DEFAULT 0');
  }
}
