// Interactive traffic first (issue 13 item 8) through the real gateway, a real sshd and ssh2
// clients, with recording on: while several exec and PTY sessions stream bulk output at once
// (their socket reads taking turns under the gateway's read scheduler), every stream arrives
// byte-exact, every recording holds exactly what its client got, and a keystroke session beside
// them gets every echo, in order. Which bytes go first is tested on sockets in fairReads.test.ts.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientChannel } from 'ssh2';
import { SessionEntity } from '../core/db/entities/index.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { ALICE_PASSWORD, eventually, ssh2Exec, ssh2Login, startWorld, type World } from './gatewayFixture.ts';
import { recordingFile } from './helpers/recordings.ts';

const skip = sshdUnavailable();
const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const PTY = { term: 'xterm', cols: 120, rows: 40 } as const;
const EXEC_BYTES = 6_000_000;
const PTY_BYTES = 3_000_000;
const KEYS = 40;

type CastEvent = [number, string, string];
const castEvents = (file: string): CastEvent[] => readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(1).map((l) => JSON.parse(l) as CastEvent);

describe('bulk and interactive sessions at once through the gateway', { skip }, () => {
  let w: World;
  let dir: string;
  before(async () => {
    w = await startWorld();
    dir = makeTempDir('bastion-interactive-');
    chmodSync(dir, 0o755);
  });
  after(async () => {
    await w?.stop();
    await cleanup();
  });

  test('three execs and two PTY sessions streaming at once arrive byte-exact and recorded exactly, and a typist beside them gets every echo in order', { timeout: 240_000 }, async () => {
    const files = [0, 1, 2].map((i) => {
      const file = join(dir, `bulk${i}.bin`);
      writeFileSync(file, randomBytes(EXEC_BYTES), { mode: 0o644 });
      return file;
    });
    const login = () => ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
    const clients = await Promise.all([...files, 'pty', 'pty', 'typist'].map(() => login()));
    try {
      const execs = files.map((file, i) => ssh2Exec(clients[i]!, `cat '${file}'`));
      const ptys = [3, 4].map((i) => ssh2Exec(clients[i]!, `head -c ${PTY_BYTES} /dev/urandom | base64`, { pty: PTY }));

      // The typist: `cat` on a PTY, one key at a time, each sent once the one before has come back.
      const typist = await new Promise<ClientChannel>((resolve, reject) => {
        clients[5]!.exec('cat', { pty: PTY }, (err, ch) => (err ? reject(err) : resolve(ch)));
      });
      let echoed = '';
      let waiting: (() => void) | null = null;
      typist.on('data', (d: Buffer) => {
        echoed += d.toString('latin1');
        waiting?.();
      });
      const typed = Array.from({ length: KEYS }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
      for (const [i, key] of [...typed].entries()) {
        const back = new Promise<void>((resolve) => {
          waiting = () => {
            if (echoed.length > i) resolve();
          };
        });
        typist.write(key);
        await back;
      }
      waiting = null;
      const echoes = echoed;
      typist.close();

      const [execResults, ptyResults] = await Promise.all([Promise.all(execs), Promise.all(ptys)]);
      assert.equal(echoes, typed, 'every key came back once, in order');
      for (const [i, r] of execResults.entries()) {
        assert.equal(r.code, 0);
        assert.equal(r.stdout.length, EXEC_BYTES);
        assert.equal(sha256(r.stdout), sha256(readFileSync(files[i]!)), `exec ${i} is byte-exact`);
      }
      for (const r of ptyResults) {
        assert.equal(r.code, 0);
        assert.ok(r.stdout.length > PTY_BYTES * 4 / 3, `a PTY session received ${r.stdout.length} bytes`);
      }

      // Every recording holds what its client got: the execs' summaries their SHA-256, the PTY
      // sessions' "o" events the very bytes.
      const rows = await eventually(
        () => w.bastion.services.ds.getRepository(SessionEntity).find({ order: { startedAt: 'ASC' } }),
        (all) => all.length >= 6 && all.every((r) => r.status !== 'active'),
        60_000,
      );
      const recorded = rows.map((row) => castEvents(recordingFile(w.bastion.services, row)!));
      for (const [i, file] of files.entries()) {
        const expected = sha256(readFileSync(file));
        assert.ok(recorded.some((events) => events.some((e) => e[1] === 'm' && e[2].includes(`stdout ${EXEC_BYTES} bytes sha256 ${expected}`))), `exec ${i}'s recording holds its size and SHA-256`);
      }
      for (const [i, r] of ptyResults.entries()) {
        const digest = sha256(r.stdout);
        assert.ok(recorded.some((events) => sha256(events.filter((e) => e[1] === 'o').map((e) => e[2]).join('')) === digest), `PTY session ${i}'s recording holds exactly what its client got`);
      }
      for (const row of rows) assert.equal(row.recordingIncomplete, false);
    } finally {
      for (const c of clients) c.end();
    }
  });
});
