// No session runs unrecorded (DESIGN rule 12), through the real gateway, a real sshd and real
// clients: a recording that cannot be written refuses the session (or marks it incomplete, as
// configured), a disk that fills up mid-session is told to the operator and on the row, the
// per-session size limit ends or truncates with a marker, a nearly full disk refuses new
// sessions; output streamed at full speed is recorded byte for byte (the session is slowed,
// never the record thinned); a PTY-less exec is recorded as a transfer (head, tail, SHA-256).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type ssh2 from 'ssh2';
import { SessionEntity, type Session } from '../core/db/entities/index.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { ALICE_PASSWORD, eventually, openShell, ssh2Exec, ssh2Login, startWorld, type World } from './gatewayFixture.ts';
import { recordingsDir, recordingFile } from './helpers/recordings.ts';

const skip = sshdUnavailable();
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
type CastEvent = [number, string, string];

function readCast(file: string): { header: Record<string, unknown>; events: CastEvent[] } {
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return { header: JSON.parse(lines[0]!) as Record<string, unknown>, events: lines.slice(1).map((l) => JSON.parse(l) as CastEvent) };
}

async function login(w: World): Promise<InstanceType<typeof ssh2.Client>> {
  return ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
}

/** The newest session rows of alice once none is active. */
async function settled(w: World, count: number): Promise<Session[]> {
  return eventually(
    () => w.bastion.services.ds.getRepository(SessionEntity).find({ order: { startedAt: 'DESC' } }),
    (rows) => rows.length >= count && rows.every((r) => r.status !== 'active'),
  );
}

/** Runs an exec through ssh2 with stdin closed at once. */
async function run(w: World, command: string, opts: ssh2.ExecOptions = {}) {
  const client = await login(w);
  try {
    return await ssh2Exec(client, command, opts);
  } finally {
    client.end();
  }
}

const asRoot = process.getuid?.() === 0;

describe('recording failures through the gateway (refuse, the default)', { skip }, () => {
  let w: World;
  before(async () => {
    w = await startWorld({ env: { BASTION_RECORDING_MIN_FREE_MB: '0', BASTION_RECORDING_MAX_MB: '1', BASTION_RECORDING_MAX_ACTION: 'end' } });
  });
  after(async () => {
    await w?.stop();
    await cleanup();
  });

  test('a recordings directory that cannot be written refuses the session in one line, and the row says why', { timeout: 60_000 }, async () => {
    const dir = recordingsDir(w.bastion.services);
    rmSync(dir, { recursive: true, force: true });
    // Root writes through permissions; nobody writes through a file where a directory should be.
    writeFileSync(dir, 'not a directory');
    try {
      const r = await run(w, 'echo must-not-run');
      assert.equal(r.stdout.toString(), '');
      assert.equal(r.stderr, 'session refused: the bastion cannot record it (ENOTDIR); tell an administrator\n');
      assert.notEqual(r.code, 0);
      const [row] = await settled(w, 1);
      assert.deepEqual([row!.status, row!.recording, row!.endReason], ['failed', null, 'session refused: the bastion cannot record it (ENOTDIR); tell an administrator']);
    } finally {
      rmSync(dir, { force: true });
    }
  });

  test('a disk that fills up: the operator is told once, the row is marked recordingIncomplete, and the next session is refused', { timeout: 60_000, skip: asRoot ? false : 'needs root to mount a tmpfs' }, async (t) => {
    const dir = recordingsDir(w.bastion.services);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', dir], { reject: false });
    if (mounted.exitCode !== 0) return t.skip(`tmpfs cannot be mounted here: ${mounted.stderr}`);
    try {
      const client = await login(w);
      try {
        const screen = await openShell(client);
        await screen.waitFor(/\$ $/);
        // 800 KB of output into a 512 KiB disk (under the 1 MiB limit of this world).
        screen.stream.write("head -c 800000 /dev/zero | tr '\\0' x; echo; echo done-$((6*7))\r");
        await screen.waitFor(/done-42/, 0, 30_000);
        // The notice follows the failed write, which is asynchronous: it may land before or after
        // the next command's output, so the order is not asserted, only that it comes exactly once.
        screen.stream.write('echo more-$((6*7))\r');
        await screen.waitFor(/more-42\r\n/, 0, 30_000);
        await screen.waitFor('this session is no longer fully recorded', 0, 30_000);
        screen.stream.write('echo last-$((6*7))\r');
        const seen = await screen.waitFor(/last-42\r\n/, 0, 30_000);
        assert.equal(seen.split('[bastion] the recording could not be written (ENOSPC); this session is no longer fully recorded').length, 2, 'said once');
        screen.stream.end('exit\r');
        await new Promise<void>((resolve) => (screen.closed ? resolve() : screen.stream.once('close', () => resolve())));
      } finally {
        client.end();
      }
      const [row] = await settled(w, 2);
      assert.equal(row!.recordingIncomplete, true);
      assert.ok(row!.recording);

      const refused = await run(w, 'echo must-not-run');
      assert.equal(refused.stderr, 'session refused: the bastion cannot record it (ENOSPC); tell an administrator\n');
      assert.equal(refused.stdout.toString(), '');
    } finally {
      await execa('umount', [dir], { reject: false });
    }
  });

  test('the per-session limit (BASTION_RECORDING_MAX_MB, action end) ends the session with a marker and the reason', { timeout: 60_000 }, async () => {
    const client = await login(w);
    const screen = await openShell(client);
    await screen.waitFor(/\$ $/);
    screen.stream.write("head -c 3000000 /dev/zero | tr '\\0' y; sleep 20\r");
    try {
      await screen.waitFor(/session ended: the recording reached its limit of 1 MiB; the session was ended/, 0, 30_000);
    } finally {
      client.end();
    }
    const [row] = await settled(w, 1);
    assert.deepEqual([row!.status, row!.endReason], ['terminated', 'the recording reached its limit of 1 MiB; the session was ended']);
    const file = recordingFile(w.bastion.services, row!)!;
    assert.ok(statSync(file).size <= 1024 * 1024 + 512);
    const { events } = readCast(file);
    assert.deepEqual(events.filter((e) => e[1] === 'm').map((e) => e[2]), ['bastion: the recording reached its limit of 1 MiB; the session was ended']);
  });
});

describe('recording failures through the gateway (continue, truncate)', { skip }, () => {
  let w: World;
  before(async () => {
    w = await startWorld({ env: { BASTION_RECORDING_FAILURE: 'continue', BASTION_RECORDING_MIN_FREE_MB: '0', BASTION_RECORDING_MAX_MB: '1', BASTION_RECORDING_MAX_ACTION: 'truncate' } });
  });
  after(async () => {
    await w?.stop();
  });

  test('with continue, a session whose recording cannot start runs, marked recordingIncomplete, and the operator is told', { timeout: 60_000 }, async () => {
    const dir = recordingsDir(w.bastion.services);
    rmSync(dir, { recursive: true, force: true });
    writeFileSync(dir, 'not a directory');
    try {
      const r = await run(w, 'echo ran-$((6*7))');
      assert.equal(r.stdout.toString(), 'ran-42\n');
      assert.equal(r.stderr, '[bastion] the recording could not be started (ENOTDIR); this session runs unrecorded\n');
      assert.equal(r.code, 0);
      const [row] = await settled(w, 1);
      assert.deepEqual([row!.status, row!.recording, row!.recordingIncomplete], ['closed', null, true]);
    } finally {
      rmSync(dir, { force: true });
    }
  });

  test('the limit with action truncate: the session goes on, the recording stops at a marker, the row is marked', { timeout: 60_000 }, async () => {
    const client = await login(w);
    const screen = await openShell(client);
    await screen.waitFor(/\$ $/);
    screen.stream.write("head -c 3000000 /dev/zero | tr '\\0' y; echo; echo after-$((6*7))\r");
    const seen = await screen.waitFor(/after-42/, 0, 30_000);
    assert.match(seen, /\[bastion\] the recording reached its limit of 1 MiB; the rest of the session is not recorded; this session is no longer fully recorded/);
    screen.stream.end('exit\r');
    client.end();
    const [row] = await settled(w, 1);
    assert.deepEqual([row!.status, row!.recordingIncomplete], ['closed', true]);
    const { events } = readCast(recordingFile(w.bastion.services, row!)!);
    assert.deepEqual(events.filter((e) => e[1] === 'm').map((e) => e[2]), ['bastion: the recording reached its limit of 1 MiB; the rest of the session is not recorded']);
  });
});

describe('the recordings disk floor (BASTION_RECORDING_MIN_FREE_MB)', { skip }, () => {
  let w: World;
  before(async () => {
    w = await startWorld({ env: { BASTION_RECORDING_MIN_FREE_MB: String(1024 * 1024 * 1024) } });
  });
  after(async () => {
    await w?.stop();
  });

  test('a new session is refused in one line while the disk has less free', { timeout: 60_000 }, async () => {
    const r = await run(w, 'echo must-not-run');
    assert.equal(r.stdout.toString(), '');
    assert.match(r.stderr, /^session refused: the bastion's recordings disk is nearly full \(\d+ MiB free\); tell an administrator\n$/);
    assert.notEqual(r.code, 0);
  });
});

describe('full-speed streams are recorded whole', { skip }, () => {
  let w: World;
  let dir: string;
  before(async () => {
    w = await startWorld();
    dir = makeTempDir('bastion-rec-stream-');
    await execa('chmod', ['755', dir]);
  });
  after(async () => {
    await w?.stop();
  });

  test('a PTY session streaming at full speed: what the client received is what the "o" events hold, byte for byte', { timeout: 240_000 }, async () => {
    const client = await login(w);
    let received: Buffer;
    try {
      const r = await ssh2Exec(client, 'head -c 50000000 /dev/urandom | base64', { pty: { term: 'xterm', cols: 120, rows: 40 } });
      received = r.stdout;
      assert.equal(r.code, 0);
    } finally {
      client.end();
    }
    assert.ok(received.length > 67_000_000, `received ${received.length}`);
    const [row] = await settled(w, 1);
    const { events } = readCast(recordingFile(w.bastion.services, row!)!);
    const recorded = events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    assert.equal(recorded.length, received.length);
    assert.equal(sha256(recorded), sha256(received));
    assert.equal(row!.recordingIncomplete, false);
  });

  test('while the recordings disk takes nothing, the session is held back (neither buffered nor thinned); once it thaws, all of it arrives and is recorded', { timeout: 180_000, skip: asRoot ? false : 'needs root to mount and freeze a filesystem' }, async (t) => {
    const dir = recordingsDir(w.bastion.services);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const img = join(makeTempDir('bastion-rec-img-'), 'disk.img');
    await execa('truncate', ['-s', '512M', img]);
    await execa('mkfs.ext4', ['-q', img]);
    const mounted = await execa('mount', ['-o', 'loop', img, dir], { reject: false });
    if (mounted.exitCode !== 0) return t.skip(`a loop device cannot be mounted here: ${mounted.stderr}`);
    let frozen = false;
    const client = await login(w);
    try {
      const stream = await new Promise<ssh2.ClientChannel>((resolve, reject) => {
        client.exec('read go; head -c 30000000 /dev/urandom | base64', { pty: { term: 'xterm', cols: 120, rows: 40 } }, (err, s) => (err ? reject(err) : resolve(s)));
      });
      const chunks: Buffer[] = [];
      let received = 0;
      stream.on('data', (c: Buffer) => {
        chunks.push(c);
        received += c.length;
      });
      const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
      // The recording is open (its header on disk) before the session runs: then the disk stops.
      const [live] = await eventually(() => w.bastion.services.ds.getRepository(SessionEntity).find({ where: { status: 'active' } }), (rows) => rows.length === 1 && rows[0]!.recording !== null);
      assert.ok(live?.recording);
      await execa('fsfreeze', ['-f', dir]);
      frozen = true;
      // Whatever happens, the disk thaws well before the 30 s stall limit would let the session go.
      const safety = setTimeout(() => void execa('fsfreeze', ['-u', dir], { reject: false }), 20_000);
      t.after(() => clearTimeout(safety));
      stream.write('\n');
      // Wait until the client stops receiving (bounded): the session is held back by the recording.
      let last = -1;
      for (let i = 0; i < 30 && received !== last; i++) {
        last = received;
        await new Promise((r) => setTimeout(r, 500));
      }
      const heldAt = received;
      assert.ok(heldAt < 20_000_000, `while the disk was frozen the client received ${heldAt} of 40500000+ bytes`);
      await execa('fsfreeze', ['-u', dir]);
      frozen = false;
      await closed;
      const got = Buffer.concat(chunks);
      assert.ok(got.length > 40_000_000, `received ${got.length}`);
      const [row] = await settled(w, 1);
      assert.equal(row!.recordingIncomplete, false);
      const { events } = readCast(recordingFile(w.bastion.services, row!)!);
      const recorded = events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
      assert.equal(recorded.length, got.length);
      assert.equal(sha256(recorded), sha256(got));
    } finally {
      client.end();
      if (frozen) await execa('fsfreeze', ['-u', dir], { reject: false });
      await eventually(async () => (await execa('umount', [dir], { reject: false })).exitCode, (code) => code === 0);
    }
  });

  test('a non-PTY exec of 50 MB is recorded as a transfer: the client gets it exact, the recording is small and holds its size and SHA-256', { timeout: 240_000 }, async () => {
    const source = join(dir, 'big.bin');
    await execa('sh', ['-c', `head -c 50000000 /dev/urandom > '${source}' && chmod 644 '${source}'`]);
    const expected = sha256(readFileSync(source));
    const client = await login(w);
    let got: Buffer;
    try {
      const r = await ssh2Exec(client, `cat '${source}'`);
      got = r.stdout;
      assert.equal(r.code, 0);
    } finally {
      client.end();
    }
    assert.equal(sha256(got), expected);
    const [row] = await settled(w, 1);
    const file = recordingFile(w.bastion.services, row!)!;
    assert.ok(statSync(file).size <= 1024 * 1024, `recording is ${statSync(file).size} bytes`);
    const { header, events } = readCast(file);
    assert.deepEqual(header.bastion, { record: 'transfer', keepBytes: 64 * 1024 });
    const summary = events.filter((e) => e[1] === 'm').map((e) => e[2]).at(-1);
    assert.equal(summary, `bastion: transfer: stdout 50000000 bytes sha256 ${expected}; stderr 0 bytes sha256 ${sha256('')}; stdin 0 bytes sha256 ${sha256('')}`);
    assert.equal(row!.bytesOut, 50_000_000);
  });
});
