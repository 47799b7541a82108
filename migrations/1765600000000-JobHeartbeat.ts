import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

// Frozen. The process running a job marks it now and then; a queued or running job left unmarked
// for three periods has lost its process and is failed. Before this, every process failed all
// queued and running jobs at its start — with several servers on one PostgreSQL, also the jobs
// that other, live servers were running.
export class JobHeartbeat1765600000000 implements MigrationInterface {
  name = 'JobHeartbeat1765600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('job', new TableColumn({ name: 'heartbeat_at', type: 'bigint', isNullable: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('job', 'heartbeat_at');
  }
}
