import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

// Frozen. A session whose recording failed or was truncated at its size limit says so, so
// that auditors never take a partial recording for the whole session (DESIGN rule 12).
export class SessionRecordingIncomplete1764450000000 implements MigrationInterface {
  name = 'SessionRecordingIncomplete1764450000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('session', new TableColumn({ name: 'recording_incomplete', type: 'boolean', isNullable: false, default: false }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('session', 'recording_incomplete');
  }
}
