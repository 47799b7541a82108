// DESIGN rule 13: a terminal size is bounded (core/terminalSize, 1000×1000) wherever it is
// taken — the operator's pty-req and window-change, the backend PTY, the recording's header
// and "r" events, and whatever replays a recording (segment worker, live view, replay).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SessionEntity } from '../core/db/entities/index.ts';
import { readSegment } from '../core/audit/recordingSegments.ts';
import { MAX_COLS, MAX_ROWS } from '../core/terminalSize.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { ALICE_PASSWORD, eventually, openShell, ssh2Login, startWorld, type World } from './gatewayFixture.ts';
import { buildLocalSegments, localSidecar, recordingFile } from './helpers/recordings.ts';

describe('terminal sizes are bounded (rule 13)', () => {
  let w: World;
  const skip = sshdUnavailable();

  before(async () => {
    if (!skip) w = await startWorld();
  });
  after(async () => {
    await w?.stop();
    await cleanup();
  });

  test('a 9999×9999 pty and window-change reach the backend, the recording and its segments as 1000×1000', { skip }, async () => {
    const s = w.bastion.services;
    const client = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
    try {
      const screen = await openShell(client, { rows: 9999, cols: 9999 });
      await screen.send('stty size\r', /[^\d]1000 1000\r\n/);
      screen.stream.setWindow(9999, 9999, 0, 0);
      await screen.send('stty size; echo small-$((1+1))\r', /[^\d]1000 1000\r\nsmall-2/);
      screen.stream.setWindow(40, 120, 0, 0);
      await screen.send('stty size\r', /[^\d]40 120\r\n/);
      screen.stream.end('exit\r');
      await screen.whenClosed();
    } finally {
      client.end();
    }
    const row = await eventually(() => s.ds.getRepository(SessionEntity).findOneBy({ userId: w.alice.id }), (r) => r !== null && r.status !== 'active');
    const cast = recordingFile(s, row!)!;
    const lines = readFileSync(cast, 'utf8').split('\n').filter(Boolean);
    const header = JSON.parse(lines[0]!) as { width: number; height: number };
    assert.deepEqual([header.width, header.height], [1000, 1000]);
    const resizes = lines.slice(1).map((l) => JSON.parse(l) as [number, string, string]).filter((e) => e[1] === 'r').map((e) => e[2]);
    assert.deepEqual(resizes, ['1000x1000', '120x40']);
    const index = await buildLocalSegments(cast);
    assert.deepEqual([index.cols, index.rows], [1000, 1000]);
  });

  test('a recording that claims 9999×9999 (header and resize events) is replayed at 1000×1000', async () => {
    const dir = makeTempDir('bastion-size-');
    const cast = join(dir, 'huge.cast');
    writeFileSync(cast, [
      JSON.stringify({ version: 2, width: 9999, height: 9999, timestamp: 0 }),
      JSON.stringify([0.1, 'o', 'hello']),
      JSON.stringify([0.2, 'r', '99999x99999']),
      JSON.stringify([0.3, 'o', ' world']),
    ].join('\n') + '\n', { mode: 0o600 });
    const index = await buildLocalSegments(cast);
    assert.deepEqual([index.cols, index.rows], [MAX_COLS, MAX_ROWS]);
    const seg = await readSegment(localSidecar(cast), index.segments[0]!, (t) => t);
    assert.ok(seg.snapshot.cols <= MAX_COLS && seg.snapshot.rows <= MAX_ROWS, JSON.stringify({ cols: seg.snapshot.cols, rows: seg.snapshot.rows }));
    const resize = seg.events.find((e) => e[1] === 'r');
    assert.equal(resize?.[2], '99999x99999', 'the event is kept as recorded; the replay terminal is what is bounded');
  });
});
