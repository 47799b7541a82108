import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

// Frozen. A command that ran with the terminal's echo off (`stty -echo`) cannot be read from
// the screen: the command log keeps a marked row (its input says "input not echoed" and the
// line's length, never its text). The flag tells that row from a line an operator typed to
// look like one.
export class CommandNotEchoed1764500000000 implements MigrationInterface {
  name = 'CommandNotEchoed1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('command', new TableColumn({ name: 'not_echoed', type: 'boolean', default: false }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('command', 'not_echoed');
  }
}
