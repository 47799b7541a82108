// Session recording (asciicast v2, played back by the real `asciinema`) and command
// recovery (a headless terminal reading the line a shell really ran), against simulated
// echo streams, a real bash behind a real sshd, and the real gateway end to end.
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import ssh2 from 'ssh2';
import type { ClientChannel } from 'ssh2';
import { BATCH_BYTES, CastWriter, HIGH_WATER_BYTES } from '../gateway/recording/castWriter.ts';
import { TransferRecord } from '../gateway/recording/transferRecord.ts';
import { HashThread } from '../gateway/recording/hashThread.ts';
import { DirectoryRecordingStore } from '../core/recordings/directoryStore.ts';
import { CastTextEncoder } from '../gateway/recording/castText.ts';
import { CommandRecorder, type RecoveredCommand } from '../gateway/recording/commandRecorder.ts';
import { plainText } from '../gateway/recording/terminalText.ts';
import { startSshd, sshdUnavailable, type Sshd } from './helpers/sshd.ts';
import { startBastion, type Bastion } from './helpers/bastion.ts';
import { factories } from './helpers/factories.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { buildLocalSegments, recordingFile } from './helpers/recordings.ts';

after(cleanup);
/** Where the transfer records of this file hash their streams. */
const hashing = new HashThread();
after(() => hashing.close());

type CastEvent = [number, string, string];

function readCast(file: string): { header: Record<string, unknown>; events: CastEvent[] } {
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return { header: JSON.parse(lines[0]!) as Record<string, unknown>, events: lines.slice(1).map((l) => JSON.parse(l) as CastEvent) };
}

/** What `asciinema cat` prints for the file. It wants a terminal on /dev/tty: `script` gives it one. */
async function asciinemaCat(file: string): Promise<Buffer> {
  const out = join(makeTempDir('bastion-cat-'), 'out');
  const r = await execa('script', ['-qec', `asciinema cat '${file}' > '${out}'`, '/dev/null'], { reject: false, timeout: 60_000 });
  assert.equal(r.exitCode, 0, `asciinema cat failed: ${r.stdout}${r.stderr}`);
  return readFileSync(out);
}

/** Where each recording of these tests lands (the directory store's file). */
const castFiles = new WeakMap<CastWriter, string>();
function fileOf(cast: CastWriter): string {
  return castFiles.get(cast)!;
}

/** A recording in the directory store at `dir`. */
function openIn(dir: string, ...args: Parameters<typeof CastWriter.open> extends [unknown, ...infer R] ? R : never): CastWriter {
  const store = new DirectoryRecordingStore(dir);
  const cast = CastWriter.open(store, ...args);
  castFiles.set(cast, store.fileOf(cast.relativePath));
  return cast;
}

function openCast(meta: Parameters<typeof CastWriter.open>[4] = {}, size = { cols: 80, rows: 24 }): { cast: CastWriter; dir: string } {
  const dir = makeTempDir('bastion-rec-');
  return { cast: openIn(dir, randomUUID(), new Date(), size, meta), dir };
}

describe('asciicast recording', () => {
  test('plays back with asciinema exactly as written, UTF-8 split across chunks included', async () => {
    const { cast, dir } = openCast({ title: 'alice → deploy@web01', env: { TERM: 'xterm-256color' } });
    const parts = [
      Buffer.from('héllo wörld — €uro 🙂 中文\r\n'),
      Buffer.from('\x1b[1;32mgreen\x1b[0m "quoted" back\\slash\ttab\r\n'),
      Buffer.from('progress 10%\rprogress 100%\r\n'),
    ];
    const all = Buffer.concat(parts);
    // One byte at a time: every multibyte character is split across writes.
    for (let i = 0; i < all.length; i++) cast.output(all.subarray(i, i + 1));
    await cast.close();

    assert.match(cast.relativePath, /^\d{4}\/\d{2}\/\d{2}\/[0-9a-f-]{36}\.cast$/);
    const file = join(dir, cast.relativePath);
    assert.equal(fileOf(cast), file);
    const { header, events } = readCast(file);
    assert.equal(header.version, 2);
    assert.equal(header.width, 80);
    assert.equal(header.height, 24);
    assert.equal(typeof header.timestamp, 'number');
    assert.equal(header.title, 'alice → deploy@web01');
    assert.deepEqual(header.env, { TERM: 'xterm-256color' });
    // Coalesced: a few events, not one per write.
    assert.ok(events.length <= 3, `${events.length} events`);
    assert.equal(events.map((e) => e[2]).join(''), all.toString('utf8'));
    assert.ok(!events.map((e) => e[2]).join('').includes('\ufffd'));
    assert.ok((await asciinemaCat(file)).equals(all));
  });

  test('the fast (WebAssembly) and the fallback escaping agree with JSON on every kind of character', () => {
    const alphabet = ['the quick brown fox jumps over the lazy dog ', 'a', 'Z', '0', ' ', '~', '"', '\\', '\n', '\r', '\t', '\b', '\f', '\x07', '\x0b', '\x0e', '\x0f', '\x1b', '\x00', '\x01', '\x18', '\x1f', '\x7f', 'é', '€', '🙂', '\u0085', '中'];
    const dropped = /[\x00-\x06\x10-\x1a\x1c-\x1f\x7f]/g;
    for (let round = 0; round < 300; round++) {
      let text = '';
      const length = Math.floor(Math.random() * 400);
      for (let i = 0; i < length; i++) text += alphabet[Math.floor(Math.random() * alphabet.length)];
      const bytes = Buffer.from(text);
      const encoder = new CastTextEncoder();
      // Cut anywhere, even inside a character.
      const cut = Math.floor(Math.random() * (bytes.length + 1));
      const lines = [encoder.event('[0, "o", "', [bytes.subarray(0, cut)], false), encoder.event('[0, "o", "', [bytes.subarray(cut)], true)];
      const decoded = lines.filter((l): l is Buffer => l !== null).map((l) => (JSON.parse(l.toString('utf8')) as CastEvent)[2]).join('');
      assert.equal(decoded, text.replace(dropped, ''), JSON.stringify(text));
      // Invalid UTF-8 takes the JavaScript path: still valid JSON, the text around it intact.
      const broken = new CastTextEncoder().event('[0, "o", "', [Buffer.concat([bytes, Buffer.from([0xff, 0xfe]), bytes])], true);
      if (broken) assert.equal((JSON.parse(broken.toString('utf8')) as CastEvent)[2], text.replace(dropped, '') + '\ufffd' + text.replace(dropped, ''));
    }
  });

  test('resizes are "r" events in order, times never go backwards, and the tail survives close()', async () => {
    const { cast } = openCast();
    cast.output(Buffer.from('before\r\n'));
    cast.resize(132, 43);
    cast.output(Buffer.from('after\r\n'));
    await new Promise((r) => setTimeout(r, 40));
    cast.output(Buffer.from('the very last bytes, written just before close'));
    await cast.close();
    const { events } = readCast(fileOf(cast));
    assert.deepEqual(events.map((e) => [e[1], e[2]]), [
      ['o', 'before\r\n'], ['r', '132x43'], ['o', 'after\r\n'], ['o', 'the very last bytes, written just before close'],
    ]);
    for (let i = 1; i < events.length; i++) assert.ok(events[i]![0] >= events[i - 1]![0]);
    assert.ok((await asciinemaCat(fileOf(cast))).toString().endsWith('just before close'));
    // After close nothing is written and nothing throws.
    cast.output(Buffer.from('late'));
    cast.resize(10, 10);
    await cast.close();
    assert.equal(readCast(fileOf(cast)).events.length, 4);
  });

  test('megabytes of text come back byte for byte (event buffers are recycled safely)', async () => {
    const { cast } = openCast();
    const parts: Buffer[] = [];
    for (let i = 0; i < 160; i++) {
      const chunk = Buffer.from(Array.from({ length: 400 }, (_, j) => `${i}:${j} "log" \\ é ${'x'.repeat((i * 7 + j) % 50)}\r\n`).join(''));
      parts.push(chunk);
      cast.output(chunk);
      if (i % 16 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await cast.close();
    assert.equal(cast.stats.droppedBytes, 0);
    const all = Buffer.concat(parts);
    assert.ok(all.length > 2 * 1024 * 1024);
    const { events } = readCast(fileOf(cast));
    assert.equal(events.map((e) => e[2]).join(''), all.toString('utf8'));
  });

  test('bulk output is encoded after the callback that read it (not ahead of the next socket\'s keystroke), whole and in order', async () => {
    const { cast } = openCast();
    await cast.opened();
    const burst = Buffer.from('bulk line\r\n'.repeat(Math.ceil(BATCH_BYTES / 11)));
    cast.output(burst);
    cast.output(Buffer.from('more'));
    // Nothing encoded in the caller's callback, however large the burst.
    assert.equal(cast.stats.events, 0);
    await new Promise((r) => setImmediate(r));
    // At the poll phase's end: one event for what the phase read.
    assert.equal(cast.stats.events, 1);
    cast.output(burst);
    // A resize before the queued flush still comes after the output before it.
    cast.resize(100, 30);
    await new Promise((r) => setImmediate(r));
    await cast.close();
    const { events } = readCast(fileOf(cast));
    assert.deepEqual(events.map((e) => e[1]), ['o', 'o', 'r']);
    assert.equal(events[0]![2], `${burst.toString()}more`);
    assert.equal(events[1]![2], burst.toString());
  });

  test('binary output does not blow the file up: zeros vanish, random bytes stay under 1.5×, asciinema still reads it', async () => {
    const { cast } = openCast();
    const zeros = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < zeros.length; i += 32 * 1024) cast.output(zeros.subarray(i, i + 32 * 1024));
    const noise = randomBytes(4 * 1024 * 1024);
    for (let i = 0; i < noise.length; i += 32 * 1024) {
      cast.output(noise.subarray(i, i + 32 * 1024));
      if (i % (1024 * 1024) === 0) await new Promise((r) => setImmediate(r)); // let the disk keep up
    }
    await cast.close();
    const size = statSync(fileOf(cast)).size;
    assert.ok(size < 1.5 * noise.length, `file is ${size} bytes for ${noise.length} random + ${zeros.length} zero bytes`);
    assert.equal(cast.stats.droppedBytes, 0);
    const played = await asciinemaCat(fileOf(cast));
    assert.ok(played.length > 0);
  });

  test('when the disk is behind, output() asks the caller to wait; a caller that waits loses nothing and memory stays bounded', async () => {
    const { cast } = openCast();
    const chunk = Buffer.from('x'.repeat(32 * 1024 - 2) + '\r\n');
    const total = 2048;
    // 64 MiB as fast as the caller can: one tick is far more than a disk takes, so it must be told to wait.
    for (let i = 0; i < total; i++) {
      if (!cast.output(chunk)) await new Promise<void>((resolve) => cast.whenDrained(resolve));
    }
    await cast.close();
    assert.ok(cast.stats.waits > 0, 'the writer asked to wait');
    // The writer's own queue, not the process's memory (that moves with the GC and other tests):
    // at most the high-water mark plus the event that crossed it.
    assert.ok(cast.stats.maxQueuedBytes < HIGH_WATER_BYTES + 256 * 1024, `queued ${cast.stats.maxQueuedBytes} bytes`);
    assert.equal(cast.stats.droppedBytes, 0);
    assert.equal(cast.stats.outputBytes, total * chunk.length);
    const { events } = readCast(fileOf(cast));
    assert.equal(events.filter((e) => e[1] === 'o').map((e) => e[2]).join(''), chunk.toString().repeat(total));
    assert.deepEqual(events.filter((e) => e[1] === 'm'), []);
  });

  test('a size limit truncates with a marker and says so once, or asks for the session to end', async () => {
    const line = Buffer.from('y'.repeat(1022) + '\r\n');
    const truncated: string[] = [];
    const t = openCast({ maxBytes: 256 * 1024, limitAction: 'truncate', onIncomplete: (r) => truncated.push(r), onLimit: () => assert.fail('not end') });
    for (let i = 0; i < 1024; i++) t.cast.output(line);
    await t.cast.close();
    assert.deepEqual(truncated, ['the recording reached its limit of 0.25 MiB; the rest of the session is not recorded']);
    assert.ok(statSync(fileOf(t.cast)).size <= 256 * 1024 + 200);
    const tEvents = readCast(fileOf(t.cast)).events;
    assert.deepEqual(tEvents.filter((e) => e[1] === 'm').map((e) => e[2]), ['bastion: the recording reached its limit of 0.25 MiB; the rest of the session is not recorded']);
    assert.ok(t.cast.incomplete);
    assert.ok(t.cast.stats.droppedBytes > 0);

    const ended: string[] = [];
    const e = openCast({ maxBytes: 1024 * 1024, limitAction: 'end', onLimit: (r) => ended.push(r), onIncomplete: () => assert.fail('not incomplete') });
    for (let i = 0; i < 2048; i++) e.cast.output(line);
    await e.cast.close();
    assert.deepEqual(ended, ['the recording reached its limit of 1 MiB; the session was ended']);
    assert.match(readFileSync(fileOf(e.cast), 'utf8'), /"m", "bastion: the recording reached its limit of 1 MiB; the session was ended"\]\n$/);
  });

  test('a transfer recording keeps exactly the last bytes, whether the tail came in one large chunk or never filled', async () => {
    const tailOf = async (chunks: Buffer[]): Promise<string> => {
      const { cast } = openCast({ header: { bastion: { record: 'transfer', keepBytes: 1024 } } });
      const rec = new TransferRecord(cast, 1024, hashing);
      for (const c of chunks) rec.output(c);
      await rec.close();
      return readCast(fileOf(cast)).events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    };
    const bytes = (n: number, from: number) => Buffer.from(Array.from({ length: n }, (_, i) => String.fromCharCode(97 + ((from + i) % 26))).join(''));
    // Head 1024, then 300 more: all 300 kept, nothing omitted.
    assert.equal(await tailOf([bytes(1024, 0), bytes(300, 1024)]), bytes(1324, 0).toString());
    // Head, then one chunk of 5000: its last 1024 kept, the 3976 before them omitted.
    const big = await tailOf([bytes(1024, 0), bytes(5000, 1024)]);
    assert.ok(big.startsWith(bytes(1024, 0).toString()));
    assert.ok(big.endsWith(bytes(1024, 1024 + 5000 - 1024).toString()), 'the last 1024 bytes');
    assert.match(big, /stdout: 6024 bytes, 3976 omitted here/);
  });

  test('an exec stream is recorded as a transfer: head and tail kept, the middle counted and hashed', async () => {
    const { cast } = openCast({ header: { bastion: { record: 'transfer', keepBytes: 1024 } } });
    const rec = new TransferRecord(cast, 1024, hashing);
    const out = Buffer.from(Array.from({ length: 5000 }, (_, i) => `line ${i}\n`).join(''));
    for (let i = 0; i < out.length; i += 777) rec.output(out.subarray(i, i + 777));
    rec.errorOutput(Buffer.from('warning: small\n'));
    rec.input(Buffer.from('secret stdin\n'));
    await rec.close();
    const { header, events } = readCast(fileOf(cast));
    assert.deepEqual(header.bastion, { record: 'transfer', keepBytes: 1024 });
    const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
    const markers = events.filter((e) => e[1] === 'm').map((e) => e[2]);
    assert.deepEqual(markers, [
      `bastion: stdout: ${out.length} bytes, ${out.length - 2048} omitted here (the first and last 1024 kept)`,
      `bastion: transfer: stdout ${out.length} bytes sha256 ${sha(out)}; stderr 15 bytes sha256 ${sha('warning: small\n')}; stdin 13 bytes sha256 ${sha('secret stdin\n')}`,
    ]);
    const o = events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    assert.ok(o.startsWith(out.subarray(0, 1024).toString()), 'the head');
    assert.ok(o.includes(out.subarray(out.length - 1024).toString()), 'the tail');
    assert.ok(o.includes('warning: small'));
    assert.doesNotMatch(readFileSync(fileOf(cast), 'utf8'), /secret stdin/);
    assert.ok(statSync(fileOf(cast)).size < 4096 + 1024);
    const played = (await asciinemaCat(fileOf(cast))).toString();
    assert.match(played, /\[bastion\] stdout: 48890 bytes, 46842 omitted here/);
    // The player's segmented form reads it like any recording, the notes as markers.
    const index = await buildLocalSegments(fileOf(cast));
    assert.deepEqual(index.markers.map((m) => m[1]), markers);
    assert.equal(index.segments.length, 1);
  });

  test('keystrokes are not recorded unless asked for (they hold echo-off passwords)', async () => {
    const quiet = openCast();
    quiet.cast.input(Buffer.from('s3cret\r'));
    quiet.cast.output(Buffer.from('$ '));
    await quiet.cast.close();
    assert.doesNotMatch(readFileSync(fileOf(quiet.cast), 'utf8'), /s3cret|"i"/);

    const keys = openCast({ recordInput: true });
    keys.cast.output(Buffer.from('$ '));
    keys.cast.input(Buffer.from('ls\r'));
    await keys.cast.close();
    assert.deepEqual(readCast(fileOf(keys.cast)).events.map((e) => [e[1], e[2]]), [['o', '$ '], ['i', 'ls\r']]);
  });

  test('the file is named by the session UUID only; a recording that cannot be created rejects opened() and never throws into the session', async () => {
    const dir = makeTempDir('bastion-rec-');
    assert.throws(() => openIn(dir, '../../etc/passwd', new Date(), { cols: 80, rows: 24 }));
    assert.throws(() => openIn(dir, 'not-a-uuid', new Date(), { cols: 80, rows: 24 }));
    const id = randomUUID();
    const at = new Date(Date.UTC(2031, 0, 2, 23, 59));
    const cast = openIn(dir, id, at, { cols: 80, rows: 24 });
    await cast.opened();
    assert.equal(cast.relativePath, `2031/01/02/${id}.cast`);
    await cast.close();

    // A file where the recordings directory should be: root cannot write through that either.
    const blocked = join(dir, 'blocked');
    writeFileSync(blocked, 'a file where a directory should be');
    const incomplete: string[] = [];
    const broken = openIn(blocked, randomUUID(), new Date(), { cols: 80, rows: 24 }, { onIncomplete: (r) => incomplete.push(r) });
    await assert.rejects(broken.opened(), { code: 'ENOTDIR' });
    assert.equal(broken.output(Buffer.from('lost')), true, 'a failed recording never holds the session back');
    broken.resize(100, 30);
    await broken.close();
    assert.equal(broken.stats.droppedBytes, 4);
    assert.deepEqual(incomplete, [], 'a recording that never opened is reported by opened(), not as incomplete');
    assert.ok(!existsSync(join(blocked, broken.relativePath)));
  });

  test('a disk that stops taking writes (a frozen filesystem): the waiting session is let go and the recording reported failed, once', { skip: process.getuid?.() !== 0 ? 'needs root to mount and freeze a filesystem' : false, timeout: 60_000 }, async (t) => {
    const work = makeTempDir('bastion-rec-frozen-');
    const img = join(work, 'disk.img');
    const dir = join(work, 'mnt');
    await execa('mkdir', ['-p', dir]);
    await execa('truncate', ['-s', '32M', img]);
    await execa('mkfs.ext4', ['-q', img]);
    const mounted = await execa('mount', ['-o', 'loop', img, dir], { reject: false });
    if (mounted.exitCode !== 0) return t.skip(`a loop device cannot be mounted here: ${mounted.stderr}`);
    let frozen = false;
    let cast: CastWriter | null = null;
    try {
      const incomplete: string[] = [];
      cast = openIn(dir, randomUUID(), new Date(), { cols: 80, rows: 24 }, { stallMs: 1000, onIncomplete: (r) => incomplete.push(r) });
      await cast.opened();
      await execa('fsfreeze', ['-f', dir]);
      frozen = true;
      // Should the stall limit not work, the disk thaws after a while and the test fails instead of hanging.
      const safety = setTimeout(() => void execa('fsfreeze', ['-u', dir], { reject: false }), 15_000);
      t.after(() => clearTimeout(safety));
      const chunk = Buffer.from('f'.repeat(64 * 1024));
      let waited = false;
      for (let i = 0; i < 256 && !waited; i++) {
        if (!cast.output(chunk)) {
          waited = true;
          // Without the stall limit this would wait until the filesystem thaws: forever.
          await new Promise<void>((resolve) => cast!.whenDrained(resolve));
        }
      }
      assert.ok(waited, 'the frozen disk held the writer back');
      assert.deepEqual(incomplete, ['the recording could not be written (ESTALLED)']);
      assert.ok(cast.incomplete);
      assert.equal(cast.output(chunk), true, 'a failed recording holds nobody back');
      await execa('fsfreeze', ['-u', dir]);
      frozen = false;
      await cast.close();
    } finally {
      if (frozen) await execa('fsfreeze', ['-u', dir], { reject: false });
      await cast?.close();
      await execa('umount', [dir], { reject: false });
    }
  });

  test('a disk that fills up: a new recording is refused at its header, a live one reports ENOSPC once', { skip: process.getuid?.() !== 0 ? 'needs root to mount a tmpfs' : false }, async (t) => {
    const dir = makeTempDir('bastion-rec-full-');
    const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { reject: false });
    if (mounted.exitCode !== 0) return t.skip(`tmpfs cannot be mounted here: ${mounted.stderr}`);
    try {
      const incomplete: string[] = [];
      const live = openIn(dir, randomUUID(), new Date(), { cols: 80, rows: 24 }, { onIncomplete: (r) => incomplete.push(r) });
      await live.opened();
      const chunk = Buffer.from('z'.repeat(64 * 1024));
      for (let i = 0; i < 16; i++) {
        if (!live.output(chunk)) await new Promise<void>((resolve) => live.whenDrained(resolve));
      }
      await live.close();
      assert.deepEqual(incomplete, ['the recording could not be written (ENOSPC)']);
      assert.ok(live.incomplete);
      const late = openIn(dir, randomUUID(), new Date(), { cols: 80, rows: 24 });
      await assert.rejects(late.opened(), { code: 'ENOSPC' });
      await late.close();
    } finally {
      await execa('umount', [dir], { reject: false });
    }
  });
});

/** A recorder and the commands it reports. */
function recorder(cols = 80, rows = 24): { rec: CommandRecorder; commands: RecoveredCommand[]; out(s: string): void; key(s: string): void } {
  const commands: RecoveredCommand[] = [];
  const rec = new CommandRecorder({ cols, rows, onCommand: (c) => commands.push(c) });
  return { rec, commands, out: (s) => rec.output(Buffer.from(s)), key: (s) => rec.input(Buffer.from(s)) };
}

/** Waits (at most 10 s) until the recorder has reported a command on its own, without being disposed. */
async function firstCommand(r: ReturnType<typeof recorder>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (r.commands.length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
}

/** Types a string the way a shell echoes it: one key in, its echo out. */
function type(r: ReturnType<typeof recorder>, text: string): void {
  for (const ch of text) {
    r.key(ch);
    r.out(ch);
  }
}

const PROMPT = '\x1b]0;bob@web01: ~\x07\x1b[01;32mbob@web01\x1b[00m:\x1b[01;34m~\x1b[00m$ ';

describe('command recovery from simulated echo', () => {
  test('a plain typed line, with its output excerpt (prompt and escapes removed)', async () => {
    const r = recorder();
    r.out('Welcome to web01\r\n' + PROMPT);
    type(r, 'ls -la /etc');
    r.key('\r');
    r.out('\r\ntotal 8\r\n\x1b[01;34mdrwxr-xr-x\x1b[0m 2 root root 4096 .\r\n' + PROMPT);
    await r.rec.dispose();
    assert.equal(r.commands.length, 1);
    assert.equal(r.commands[0]!.input, 'ls -la /etc');
    assert.equal(r.commands[0]!.output, 'total 8\ndrwxr-xr-x 2 root root 4096 .\n');
    assert.ok(r.commands[0]!.at instanceof Date);
    assert.ok(r.commands[0]!.offsetMs >= 0);
  });

  test('backspace, Ctrl-U and retyping give the line that ran', async () => {
    const r = recorder();
    r.out(PROMPT);
    type(r, 'lss');
    r.key('\x7f');
    r.out('\b\x1b[K');
    type(r, ' -l');
    r.key('\r');
    r.out('\r\nfile\r\n' + PROMPT);
    type(r, 'rm -rf /important');
    r.key('\x15'); // Ctrl-U: readline moves back and clears
    r.out('\x1b[17D\x1b[K');
    type(r, 'echo safe');
    r.key('\r');
    r.out('\r\nsafe\r\n' + PROMPT);
    await r.rec.dispose();
    assert.deepEqual(r.commands.map((c) => c.input), ['ls -l', 'echo safe']);
    assert.equal(r.commands[1]!.output, 'safe\n');
  });

  test('tab completion and history recall are read from the screen, not from the keys', async () => {
    const r = recorder();
    r.out(PROMPT);
    type(r, 'cat /etc/hostn');
    r.key('\t');
    r.out('ame '); // the completion the shell inserted
    r.key('\r');
    r.out('\r\nweb01\r\n' + PROMPT);
    r.key('\x1b[A'); // up arrow: the shell redraws the previous line
    r.out('cat /etc/hostname ');
    r.key('\x1b[D'); // left, then insert: the shell redraws the rest of the line
    r.out('\b');
    r.key('x');
    r.out('x \b');
    r.key('\r');
    r.out('\r\ncat: /etc/hostnamex: No such file or directory\r\n' + PROMPT);
    await r.rec.dispose();
    assert.deepEqual(r.commands.map((c) => c.input), ['cat /etc/hostname', 'cat /etc/hostnamex']);
  });

  test('a password typed at an echo-off prompt is never a command, and the output after it joins the command before', async () => {
    const r = recorder();
    r.out(PROMPT);
    type(r, 'sudo -k ls /root');
    r.key('\r');
    r.out('\r\n[sudo] password for bob: ');
    r.key('hunter2'); // no echo
    r.key('\r');
    r.out('\r\nsecret-file\r\n' + PROMPT);
    await new Promise((res) => setTimeout(res, 20)); // the emulator reads the line: empty; the next line of output is not the password
    r.key('\r'); // an empty line is not a command either
    r.out('\r\n' + PROMPT);
    type(r, 'whoami');
    r.key('\r');
    r.out('\r\nbob\r\n' + PROMPT);
    await r.rec.dispose();
    assert.deepEqual(r.commands.map((c) => c.input), ['sudo -k ls /root', 'whoami']);
    assert.match(r.commands[0]!.output, /\[sudo\] password for bob: \nsecret-file\n/);
    assert.doesNotMatch(JSON.stringify(r.commands), /hunter2/);
  });

  test('a line entered before the output of an earlier Enter arrived is still recorded, from its echo', async () => {
    // Byte for byte what bash 5.2 sends (bracketed paste on and off, the title, the prompt).
    const BASH = '\x1b[?2004h\x1b]0;bob@vm: ~\x07bob@vm:~$ ';
    const r = recorder();
    r.out(BASH);
    type(r, 'touch /tmp/x');
    r.key('\x03');
    r.out('^C'); // the rest of the shell's redraw after Ctrl-C is late
    r.key('\r'); // an empty Enter…
    r.out('\x1b[?2004l\r\x1b[?2004h\x1b[?2004l\r\r\n' + BASH + '\x1b[K'); // …whose line the redraw's newline ends
    await new Promise((res) => setTimeout(res, 20));
    r.key('echo still-here'); // the next line, typed before the empty Enter's own newline came back
    r.key('\r');
    r.out('\r\n\x1b[?2004l\r' + BASH); // that newline: the line on screen still reads empty
    await new Promise((res) => setTimeout(res, 20));
    r.out('echo still-here\r\n\x1b[?2004l\rstill-here\r\n' + BASH); // then its echo and output
    await new Promise((res) => setTimeout(res, 20));
    type(r, 'whoami');
    r.key('\r');
    r.out('\r\n\x1b[?2004l\rbob\r\n' + BASH);
    await r.rec.dispose();
    assert.deepEqual(r.commands.map((c) => [c.input, c.output]), [['echo still-here', 'still-here\n'], ['whoami', 'bob\n']]);
  });

  test('a held line whose echo is the last thing before the end is a command with no output', async () => {
    const r = recorder();
    r.out(PROMPT);
    r.key('exit');
    r.key('\r');
    r.out('\r\n' + PROMPT); // a late newline: the line reads empty, its keys are held
    await new Promise((res) => setTimeout(res, 20));
    r.out('exit'); // its echo, and the session ends before the newline
    await r.rec.dispose();
    assert.deepEqual(r.commands.map((c) => [c.input, c.output]), [['exit', '']]);
  });

  test('a password followed at once by another line stays unrecorded', async () => {
    const r = recorder();
    r.out(PROMPT);
    type(r, 'sudo -k id');
    r.key('\r');
    r.out('\r\n[sudo] password for bob: ');
    r.key('hunter2');
    r.key('\r');
    r.out('\r\n'); // sudo's newline after the password; nothing else yet
    await new Promise((res) => setTimeout(res, 20)); // the emulator reads the line: empty, held
    r.key('l'); // the operator types on before the output came
    r.out('uid=0(root) gid=0(root)\r\n' + PROMPT + 'l');
    type(r, 's');
    r.key('\r');
    r.out('\r\nfile\r\n' + PROMPT);
    await r.rec.dispose();
    assert.deepEqual(r.commands.map((c) => c.input), ['sudo -k id', 'ls']);
    assert.doesNotMatch(JSON.stringify(r.commands), /hunter2/);
  });

  test('a password after which nothing is printed is decided when the session goes quiet: the command before is reported, the password never', async () => {
    const r = recorder();
    r.out(PROMPT);
    type(r, 'read -s secret');
    r.key('\r');
    r.out('\r\n');
    r.key('hunter2');
    r.key('\r');
    r.out('\r\n'); // `read -s` prints nothing more
    await firstCommand(r);
    assert.deepEqual(r.commands.map((c) => c.input), ['read -s secret']);
    await r.rec.dispose();
    assert.deepEqual(r.commands.map((c) => c.input), ['read -s secret']);
    assert.doesNotMatch(JSON.stringify(r.commands), /hunter2/);
  });

  test('a password typed ahead, before the Enter of the line asking for it came back, is not recorded', async () => {
    const r = recorder();
    r.out(PROMPT);
    type(r, 'sudo -k ls');
    r.key('\r');
    r.key('hunter2'); // typed within the round trip, in its own input chunk
    r.key('\r');
    r.out('\r\n[sudo] password for bob: \r\nfile\r\n' + PROMPT);
    await r.rec.dispose();
    assert.deepEqual(r.commands.map((c) => c.input), ['sudo -k ls']);
    assert.doesNotMatch(JSON.stringify(r.commands), /hunter2/);
  });

  test('a pasted block: each line typed ahead is recorded with its own output once its echo shows', async () => {
    const r = recorder();
    r.out(PROMPT);
    r.key('echo one\recho two\recho three\r'); // one input chunk, before any echo
    r.out('echo one\r\none\r\n' + PROMPT + 'echo two\r\ntwo\r\n' + PROMPT + 'echo three\r\nthree\r\n' + PROMPT);
    await r.rec.dispose();
    assert.deepEqual(r.commands.map((c) => [c.input, c.output]), [['echo one', 'one\n'], ['echo two', 'two\n'], ['echo three', 'three\n']]);
  });

  test('a password pasted on the line after `su -` is never a command; the lines after it are', async () => {
    const r = recorder();
    r.out(PROMPT);
    r.key('su -\rhunter2\rwhoami\r');
    r.out('su -\r\nPassword: ');
    r.out('\r\n\x1b]0;root@web01: ~\x07root@web01:~# whoami\r\nroot\r\nroot@web01:~# ');
    await r.rec.dispose();
    assert.deepEqual(r.commands.map((c) => c.input), ['su -', 'whoami']);
    assert.equal(r.commands[1]!.output, 'root\n');
    assert.doesNotMatch(JSON.stringify(r.commands), /hunter2/);
  });

  test('a pasted line whose echo comes after more output than the excerpt keeps is recorded from the keys', async () => {
    const r = recorder();
    r.out(PROMPT);
    r.key('cat big.log\rls\r');
    r.out('cat big.log\r\n' + 'x'.repeat(100) .concat('\r\n').repeat(120) + PROMPT + 'ls\r\nfile\r\n' + PROMPT);
    await r.rec.dispose();
    assert.deepEqual(r.commands.map((c) => c.input), ['cat big.log', 'ls']);
  });

  test('a line longer than the terminal is wide is read whole across its wrapped rows', async () => {
    const r = recorder(40, 10);
    r.out('$ ');
    const long = 'echo ' + 'abcdefghij'.repeat(9) + ' end';
    type(r, long);
    r.key('\r');
    r.out('\r\n' + 'abcdefghij'.repeat(9) + ' end\r\n$ ');
    await r.rec.dispose();
    assert.deepEqual(r.commands.map((c) => c.input), [long]);
  });

  test('keys typed in a full-screen program (alternate screen) are not commands; Ctrl-C abandons a line', async () => {
    const r = recorder();
    r.out(PROMPT);
    type(r, 'vim notes.txt');
    r.key('\r');
    r.out('\r\n\x1b[?1049h\x1b[22;0;0t\x1b[?1h\x1b=\x1b[H\x1b[2J~\r\n~\r\n"notes.txt" [New]');
    r.key('i');
    r.out('-- INSERT --');
    type(r, 'hello');
    r.key('\x1b');
    r.key(':wq\r');
    r.out(':wq\r\n"notes.txt" 1L written\x1b[?1049l\x1b[23;0;0t\r' + PROMPT);
    type(r, 'oops');
    r.key('\x03');
    r.out('^C\r\n' + PROMPT);
    type(r, 'cat notes.txt');
    r.key('\r');
    r.out('\r\nhello\r\n' + PROMPT);
    await r.rec.dispose();
    assert.deepEqual(r.commands.map((c) => c.input), ['vim notes.txt', 'cat notes.txt']);
  });

  test('leaving the alternate screen is seen even when its escape sequence is split between chunks', async () => {
    const r = recorder();
    r.out(PROMPT);
    type(r, 'less /etc/services');
    r.key('\r');
    r.out('\r\n\x1b[?10');
    r.out('49h\x1b[H\x1b[2Jservices...');
    type(r, 'q');
    r.out('\x1b[?104');
    r.out('9l\r' + PROMPT);
    type(r, 'echo back');
    r.key('\r');
    r.out('\r\nback\r\n' + PROMPT);
    await r.rec.dispose();
    assert.deepEqual(r.commands.map((c) => c.input), ['less /etc/services', 'echo back']);
  });

  test('a command is reported once the session is quiet, without waiting for the next one', async () => {
    const r = recorder();
    r.out(PROMPT);
    type(r, 'uptime');
    r.key('\r');
    r.out('\r\n 10:00:00 up 1 day\r\n' + PROMPT);
    await firstCommand(r);
    assert.deepEqual(r.commands.map((c) => c.input), ['uptime']);
    assert.equal(r.commands[0]!.output, ' 10:00:00 up 1 day\n');
    await r.rec.dispose();
    assert.equal(r.commands.length, 1);
  });

  test('bulk output between commands is not parsed, and a line typed after it still reads right', async () => {
    const r = recorder();
    r.out(PROMPT);
    type(r, 'cat big.log');
    r.key('\r');
    r.out('\r\n');
    const line = Buffer.from('2024-01-01T00:00:00Z INFO request handled in 12ms\r\n');
    const chunk = Buffer.concat(Array(600).fill(line));
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) r.rec.output(chunk); // ≈ 6 MiB
    const ms = performance.now() - t0;
    r.out(PROMPT);
    type(r, 'echo done');
    r.key('\r');
    r.out('\r\ndone\r\n' + PROMPT);
    await r.rec.dispose();
    assert.deepEqual(r.commands.map((c) => c.input), ['cat big.log', 'echo done']);
    assert.ok(r.commands[0]!.output.length <= 2048);
    assert.ok(ms < 2000, `feeding 6 MiB took ${ms} ms`);
  });

  test('plain text of terminal output: escapes, CR overwrites and controls resolved', () => {
    assert.equal(plainText('\x1b[1mbold\x1b[0m\r\n50%\r100%\r\n\x1b]0;title\x07x\x07y'), 'bold\n100%\nxy');
  });
});

/** bash 5.2's prompt: bracketed paste on (readline starts a line), then PS1. */
const RL = '\x1b[?2004h[cmdlog /tmp]$ ';
/** What bash 5.2 prints when readline accepts a line: the newline, then bracketed paste off. */
const ACCEPT = '\r\n\x1b[?2004l\r';

describe('command recovery in a readline shell (bash 5.2 bytes)', () => {
  test('Ctrl-O and Ctrl-J run the line the shell shows, like Enter', async () => {
    const r = recorder();
    r.out(RL);
    r.key('\x1b[A');
    r.out('echo a1');
    r.key('\x0f'); // operate-and-get-next: runs it and shows the next history line
    r.out(`${ACCEPT}a1\r\n${RL}echo a2`);
    r.key('\n');
    r.out(`${ACCEPT}a2\r\n${RL}`);
    await r.rec.dispose();
    assert.deepEqual(r.commands.map((c) => [c.input, c.output]), [['echo a1', 'a1\n'], ['echo a2', 'a2\n']]);
  });

  test('every line of a bracketed paste is a command', async () => {
    const r = recorder();
    r.out(RL);
    r.key('\x1b[200~echo p1\recho p2\r\x1b[201~');
    r.out('\x1b[7mecho p1\x1b[27m\r\n\r\x1b[7mecho p2\x1b[27m\r\n\r');
    r.key('\r');
    r.out(`\x1b[A\x1b[A[cmdlog /tmp]$ echo p1\r\n\recho p2\r\n\r\x1b[A${ACCEPT}p1\r\np2\r\n${RL}`);
    await r.rec.dispose();
    assert.deepEqual(r.commands.map((c) => c.input), ['echo p1', 'echo p2']);
  });

  test('a line run with the echo off (stty -echo) is logged as not echoed, with its length and never its text', async () => {
    const r = recorder();
    r.out(RL);
    r.key('echo hidden');
    r.key('\r');
    r.out(`\x1b[?2004l\r\r\nhidden\r\n${RL}`); // readline showed neither the keys nor the newline
    await r.rec.dispose();
    assert.equal(r.commands.length, 1);
    assert.equal(r.commands[0]!.input, '[input not echoed: 11 characters]');
    assert.equal(r.commands[0]!.notEchoed, true);
    assert.doesNotMatch(r.commands[0]!.input, /echo hidden|hidden/);
  });

  test('a line typed to look like the not-echoed marker is an ordinary command, not flagged', async () => {
    const r = recorder();
    r.out(RL);
    type(r, '[input not echoed: 5 characters]');
    r.key('\r');
    r.out(`${ACCEPT}bash: [input: command not found\r\n${RL}`);
    await r.rec.dispose();
    assert.equal(r.commands.length, 1);
    assert.equal(r.commands[0]!.input, '[input not echoed: 5 characters]');
    assert.equal(r.commands[0]!.notEchoed, undefined);
  });

  test('a line dropped with Ctrl-C and keys for vim (which turns bracketed paste on too) are no commands', async () => {
    const r = recorder();
    r.out(RL);
    type(r, 'rm -rf /tmp/x');
    r.key('\x03');
    r.out(`^C\x1b[?2004l\r\x1b[?2004h\x1b[?2004l\r\r\n${RL}`);
    type(r, 'vi notes');
    r.key('\r');
    r.out(`${ACCEPT}\x1b[?1049h\x1b[?2004h\x1b[H\x1b[2J~\r\n~`);
    r.key('iecho not-a-command\x1b:wq\r');
    r.out('\x1b[1;1Hecho not-a-command\x1b[24;1H:wq\r\x1b[?2004l\x1b[?1049l' + RL);
    await r.rec.dispose();
    assert.deepEqual(r.commands.map((c) => c.input), ['vi notes']);
  });

  test('a password typed ahead while a command runs is echoed by the terminal: it is no command and not in the excerpt', async () => {
    const r = recorder();
    r.out(RL);
    type(r, 'sleep 1; read -rs -p "Password: " pw; echo "got-${#pw}"');
    r.key('\r');
    r.out(ACCEPT);
    r.key('hunter22-secret\r');
    r.out('hunter22-secret\r\n'); // the terminal's own echo, before read turned it off
    r.out(`Password: \r\ngot-15\r\n${RL}`);
    type(r, 'echo next');
    r.key('\r');
    r.out(`${ACCEPT}next\r\n${RL}`);
    await r.rec.dispose();
    assert.deepEqual(r.commands.map((c) => c.input), ['sleep 1; read -rs -p "Password: " pw; echo "got-${#pw}"', 'echo next']);
    assert.match(r.commands[0]!.output, /got-15/);
    assert.doesNotMatch(JSON.stringify(r.commands), /hunter22/);
  });
});

/** An interactive bash behind a real sshd, driven like a person at a keyboard; its output feeds the recorder. */
class RealShell {
  output = '';
  private constructor(private readonly client: InstanceType<typeof ssh2.Client>, private readonly stream: ClientChannel, readonly rec: CommandRecorder, readonly commands: RecoveredCommand[]) {}

  static async open(sshd: Sshd): Promise<RealShell> {
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve).once('error', reject);
      client.connect({ host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, readyTimeout: 20_000 });
    });
    const stream = await new Promise<ClientChannel>((resolve, reject) => {
      client.shell({ term: 'xterm', cols: 100, rows: 30 }, (err, s) => (err ? reject(err) : resolve(s)));
    });
    const commands: RecoveredCommand[] = [];
    const rec = new CommandRecorder({ cols: 100, rows: 30, onCommand: (c) => commands.push(c) });
    const shell = new RealShell(client, stream, rec, commands);
    stream.on('data', (d: Buffer) => {
      shell.output += d.toString('utf8');
      rec.output(d);
    });
    return shell;
  }

  /** Waits until the output since `from` matches. */
  async waitFor(re: RegExp, from = 0, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.output.slice(from))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}; output so far:\n${JSON.stringify(this.output.slice(-2000))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Sends keys one by one, each after the echo of the one before has had a moment to arrive. */
  async keys(text: string): Promise<void> {
    for (const ch of text) {
      this.send(ch);
      await new Promise((r) => setTimeout(r, 15));
    }
  }

  send(keys: string): void {
    const data = Buffer.from(keys);
    this.rec.input(data);
    this.stream.write(data);
  }

  async prompt(from: number): Promise<number> {
    await this.waitFor(/\$ (?:\x1b\[K)?$/, from);
    return this.output.length;
  }

  async close(): Promise<void> {
    this.stream.end('exit\r');
    await this.rec.dispose();
    this.client.end();
  }
}

describe('command recovery from a real bash over a real sshd', () => {
  let sshd: Sshd | undefined;
  after(async () => { await sshd?.stop(); });

  test('typing, tab completion, history, Ctrl-U and an echo-off password, as bash really echoes them', async (t) => {
    const reason = sshdUnavailable();
    if (reason) return t.skip(reason);
    sshd = await startSshd();
    const tag = randomBytes(4).toString('hex');
    const sh = await RealShell.open(sshd);
    let mark = await sh.prompt(0);

    await sh.keys(`touch /tmp/bastion-tabtest-${tag}.txt`);
    sh.send('\r');
    mark = await sh.prompt(mark + 1);

    // Tab completion: the file name is completed by bash, not typed.
    await sh.keys(`ls /tmp/bastion-tabtest-${tag.slice(0, 4)}`);
    sh.send('\t');
    await sh.waitFor(new RegExp(`${tag}\\.txt $`), mark);
    sh.send('\r');
    mark = await sh.prompt(mark + 1);

    // History: up arrow twice recalls the touch; edit its end with backspaces.
    sh.send('\x1b[A');
    await sh.waitFor(/bastion-tabtest-\w+\.txt $/, mark);
    sh.send('\x1b[A');
    await sh.waitFor(/touch \/tmp\/bastion-tabtest-\w+\.txt/, mark);
    await sh.keys('\x7f\x7f\x7flog');
    await sh.waitFor(/log$/, mark);
    sh.send('\r');
    mark = await sh.prompt(mark + 1);

    // Ctrl-U throws away what was typed.
    await sh.keys('rm -rf /tmp/nothing-here');
    sh.send('\x15');
    await new Promise((r) => setTimeout(r, 100));
    await sh.keys('echo safe-and-sound');
    sh.send('\r');
    mark = await sh.prompt(mark + 1);

    // An echo-off prompt: the password is typed, never echoed, never recorded.
    await sh.keys('read -rs -p "Password: " pw; echo; echo "got ${#pw} characters"');
    sh.send('\r');
    await sh.waitFor(/Password: $/, mark);
    await sh.keys('hunter2-secret');
    sh.send('\r');
    await sh.waitFor(/got 14 characters/, mark);
    mark = await sh.prompt(mark + 1);

    await sh.keys(`rm -f /tmp/bastion-tabtest-${tag}.txt /tmp/bastion-tabtest-${tag}.log`);
    sh.send('\r');
    await sh.prompt(mark + 1);
    await sh.close();

    assert.deepEqual(sh.commands.map((c) => c.input), [
      `touch /tmp/bastion-tabtest-${tag}.txt`,
      `ls /tmp/bastion-tabtest-${tag}.txt`,
      `touch /tmp/bastion-tabtest-${tag}.log`,
      'echo safe-and-sound',
      'read -rs -p "Password: " pw; echo; echo "got ${#pw} characters"',
      `rm -f /tmp/bastion-tabtest-${tag}.txt /tmp/bastion-tabtest-${tag}.log`,
    ]);
    assert.equal(sh.commands[1]!.output.trim(), `/tmp/bastion-tabtest-${tag}.txt`);
    assert.equal(sh.commands[3]!.output.trim(), 'safe-and-sound');
    assert.match(sh.commands[4]!.output, /Password: \n+got 14 characters/);
    assert.doesNotMatch(JSON.stringify(sh.commands), /hunter2/);
    for (let i = 1; i < sh.commands.length; i++) assert.ok(sh.commands[i]!.offsetMs >= sh.commands[i - 1]!.offsetMs);
  });
});

describe('through the gateway, end to end', () => {
  let sshd: Sshd | undefined;
  let b: Bastion | undefined;
  after(async () => {
    await b?.stop();
    await sshd?.stop();
  });

  test('an operator\'s shell is recorded (asciinema plays it) and its commands are stored', async (t) => {
    const reason = sshdUnavailable();
    if (reason) return t.skip(reason);
    sshd = await startSshd();
    b = await startBastion({ http: false, gateway: true });
    const f = factories(b.services);
    const alice = await f.user({ username: 'alice', password: 'Wonder-land-2024' });
    const web01 = await f.asset({ name: 'web01', address: sshd.host, port: sshd.port });
    const su = await f.systemUser({ name: 'app', username: sshd.username, password: sshd.password });
    await f.permission({ users: [alice.id], assets: [web01.id], systemUsers: [su.id], actions: ['connect'] });

    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve).once('error', reject);
      client.connect({ host: '127.0.0.1', port: b!.sshPort, username: 'alice@web01', password: 'Wonder-land-2024', readyTimeout: 20_000 });
    });
    const stream = await new Promise<ClientChannel>((resolve, reject) => {
      client.shell({ term: 'xterm', cols: 90, rows: 25 }, (err, s) => (err ? reject(err) : resolve(s)));
    });
    let output = '';
    stream.on('data', (d: Buffer) => { output += d.toString('utf8'); });
    const waitFor = async (re: RegExp, from: number): Promise<number> => {
      const deadline = Date.now() + 20_000;
      while (!re.test(output.slice(from))) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}: ${JSON.stringify(output.slice(-1500))}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return output.length;
    };
    const typeKeys = async (s: string): Promise<void> => {
      for (const ch of s) {
        stream.write(ch);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    let mark = await waitFor(/\$ (?:\x1b\[K)?$/, 0);
    await typeKeys('echo recorded-$((6*7))');
    stream.write('\r');
    mark = await waitFor(/recorded-42\r\n[^]*\$ (?:\x1b\[K)?$/, mark);
    stream.setWindow(30, 120, 0, 0);
    await typeKeys('printf "caf\\xc3\\xa9\\n"');
    stream.write('\r');
    mark = await waitFor(/café\r\n[^]*\$ (?:\x1b\[K)?$/, mark);
    stream.end('exit\r');
    await new Promise<void>((resolve) => stream.once('close', () => resolve()));
    client.end();

    const sessions = b.services.sessions;
    const deadline = Date.now() + 20_000;
    let session = (await sessions.list({ user: 'alice' })).items[0];
    while ((!session || session.status === 'active') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      session = (await sessions.list({ user: 'alice' })).items[0];
    }
    assert.ok(session, 'a session row');
    assert.equal(session.kind, 'shell');
    assert.notEqual(session.status, 'active');
    assert.ok(session.bytesOut > 0);
    const commands = (await sessions.commands(session.id, {})).items;
    assert.deepEqual(commands.map((c) => c.input), ['echo recorded-$((6*7))', 'printf "caf\\xc3\\xa9\\n"', 'exit']);
    assert.equal(commands[0]!.output.trim(), 'recorded-42');

    const file = recordingFile(b.services, session);
    assert.ok(file, 'a recording');
    const { header, events } = readCast(file);
    assert.equal(header.version, 2);
    assert.equal(header.width, 90);
    assert.ok(events.some((e) => e[1] === 'r' && e[2] === '120x30'), 'the resize is recorded');
    const played = (await asciinemaCat(file)).toString('utf8');
    assert.match(played, /recorded-42/);
    assert.match(played, /café/);
  });
});
