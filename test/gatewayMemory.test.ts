// The gateway's memory during bulk transfers (issue 13: RSS flat within 20 MB during a 1 GiB
// transfer): the garbage pacer asks V8 for young-generation collections at a steady pace of
// bytes read, and READ answers are read into buffers used again. Timings and RSS figures are
// the rss bench's (`npm run bench -- rss`); these check the mechanisms.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { execa } from 'execa';
import { MEMORY_FLAGS } from '../bin/memoryFlags.ts';
import { EVERY_BYTES, GarbagePacer, SLACK_BYTES } from '../gateway/garbagePacer.ts';
import { MAX_FREE_BYTES, ReadBuffers, SpareReadBuffers } from '../gateway/sftp/readBuffers.ts';
import ssh2 from 'ssh2';
import { BACKEND_READ_BUFFER, openExec } from '../gateway/backend.ts';
import { startSshd, sshdUnavailable } from './helpers/sshd.ts';

describe('garbage pacer', () => {
  test('one young-generation collection per 4 MiB read, after the I/O callbacks, none below', async () => {
    const asked: string[] = [];
    const pacer = new GarbagePacer(4 * 1024 * 1024, (o) => asked.push(o.type));
    for (let i = 0; i < 127; i++) pacer.moved(32 * 1024);
    await nextTurn();
    assert.deepEqual(asked, [], 'under 4 MiB: nothing');
    pacer.moved(32 * 1024);
    assert.deepEqual(asked, [], 'not inside the callback that read the bytes');
    await nextTurn();
    assert.deepEqual(asked, ['minor']);
    // 20 MiB in one turn is still one collection: they are not queued up.
    for (let i = 0; i < 640; i++) pacer.moved(32 * 1024);
    await nextTurn();
    assert.equal(pacer.collections, 2);
  });

  /** The collections a pacer with the real retained-bytes measure asks for when `keep()`'s result is made between two looks. */
  async function collectionsAround(keep: () => unknown[]): Promise<string[]> {
    const asked: string[] = [];
    const pacer = new GarbagePacer(EVERY_BYTES, (o) => asked.push(o.type));
    pacer.moved(EVERY_BYTES);
    await nextTurn();
    assert.deepEqual(asked, ['minor'], 'the first look sets the floor');
    const kept = keep();
    pacer.moved(EVERY_BYTES);
    await nextTurn();
    assert.ok(kept.length > 0);
    return asked;
  }

  test('objects kept on the V8 heap count towards a full collection, not only ArrayBuffers (the READs of a download in flight die in the old generation)', async () => {
    // Plain objects, no Buffers: what ssh2's request objects and promises are to a download.
    const asked = await collectionsAround(() => Array.from({ length: 2 * SLACK_BYTES / 64 }, (_, i) => ({ i, a: i + 1, b: i + 2, c: i + 3 })));
    assert.deepEqual(asked, ['minor', 'minor', 'major']);
  });

  test('Buffers kept outside the V8 heap count towards a full collection too (what the pacer reads is V8\'s external memory)', async () => {
    // Few objects, many bytes: what READ answers waiting for a slow client are.
    const asked = await collectionsAround(() => Array.from({ length: (2 * SLACK_BYTES) / (256 * 1024) }, () => Buffer.allocUnsafe(256 * 1024)));
    assert.deepEqual(asked, ['minor', 'minor', 'major']);
  });

  test('a full collection once what is retained (ArrayBuffers + heap in use) grew by the slack over the lowest seen since the last one', async () => {
    const MiB = 1024 * 1024;
    const asked: string[] = [];
    let retained = 30 * MiB;
    const pacer = new GarbagePacer(MiB, (o) => asked.push(o.type), () => retained, 0);
    const step = async (bytes: number): Promise<void> => {
      retained = bytes;
      pacer.moved(MiB);
      await nextTurn();
    };
    // The floor follows the lowest value seen: 30 → 20 MiB, then growth is counted from 20.
    await step(30 * MiB);
    await step(20 * MiB);
    await step(20 * MiB + SLACK_BYTES - 1);
    assert.deepEqual(asked, ['minor', 'minor', 'minor']);
    await step(20 * MiB + SLACK_BYTES);
    assert.deepEqual(asked.slice(3), ['minor', 'major']);
    // The next look sets the floor afresh (the collection may not have finished): no second one for the same growth.
    await step(27 * MiB);
    await step(27 * MiB + SLACK_BYTES - 1);
    assert.equal(pacer.fullCollections, 1);
    await step(27 * MiB + SLACK_BYTES);
    assert.equal(pacer.fullCollections, 2);
    assert.deepEqual(asked.filter((t) => t === 'major'), ['major', 'major']);
  });

  test('full collections are spaced: a second growth soon after the first asks for none until the spacing has passed (each is a pause of the event loop)', async () => {
    const MiB = 1024 * 1024;
    const asked: string[] = [];
    let retained = 20 * MiB;
    const pacer = new GarbagePacer(MiB, (o) => asked.push(o.type), () => retained, 60_000);
    const step = async (bytes: number): Promise<void> => {
      retained = bytes;
      pacer.moved(MiB);
      await nextTurn();
    };
    await step(20 * MiB);
    await step(20 * MiB + SLACK_BYTES);
    assert.equal(pacer.fullCollections, 1);
    await step(20 * MiB);
    await step(20 * MiB + SLACK_BYTES);
    await step(20 * MiB + 2 * SLACK_BYTES);
    assert.equal(pacer.fullCollections, 1, 'none within the spacing');
    assert.deepEqual(asked.filter((t) => t === 'major'), ['major']);
  });

  test('the full collection the pacer starts is incremental: V8 marks in steps beside the program, not in one pause (--trace-gc)', { timeout: 60_000 }, async () => {
    // In a process of its own, with the product's V8 flags: a heap of ~40 MB, as twenty PTY
    // sessions make one, then the pacer's start and the program going on in small tasks.
    const child = await execa(process.execPath, ['--import', 'tsx', '--expose-gc', ...MEMORY_FLAGS, '--trace-gc', '--input-type=module', '-e', `
      import { startIncrementalFull } from ${JSON.stringify(new URL('../gateway/garbagePacer.ts', import.meta.url).href)};
      const kept = [];
      for (let i = 0; i < 400000; i++) kept.push({ i, a: [i, i + 1] });
      globalThis.gc();
      console.log('--- pacer starts a full collection');
      startIncrementalFull();
      let n = 0;
      const work = () => {
        const garbage = [];
        for (let i = 0; i < 200; i++) garbage.push({ i });
        if (++n < 5000) setImmediate(work);
        else console.log('--- done', kept.length);
      };
      setImmediate(work);
    `], { reject: false });
    assert.equal(child.exitCode, 0, child.stderr);
    const after = child.stdout.split('--- pacer starts a full collection')[1] ?? '';
    const full = after.split('\n').filter((l) => l.includes('Mark-Compact'));
    assert.ok(full.length >= 1, `a full collection followed: ${after.slice(0, 2000)}`);
    assert.match(full[0]!, /since start of marking/, 'its marking ran in steps (incremental)');
    assert.doesNotMatch(full[0]!, /testing/, 'not the atomic one gc() asks for');
  });

  test("counts a socket's data without taking it from its reader", async () => {
    const asked: string[] = [];
    const pacer = new GarbagePacer(1024, (o) => asked.push(o.type));
    const sock = new Socket();
    const seen: number[] = [];
    sock.on('data', (c: Buffer) => seen.push(c.length));
    pacer.watch(sock);
    sock.emit('data', Buffer.alloc(2048));
    await nextTurn();
    assert.deepEqual(seen, [2048]);
    assert.deepEqual(asked, ['minor']);
    sock.destroy();
  });
});

describe('READ buffers', () => {
  test('a buffer given back is the next one taken of its length; a view into one is not kept', () => {
    const pool = new ReadBuffers();
    const a = pool.take(32 * 1024);
    pool.give(a);
    assert.equal(pool.take(32 * 1024), a);
    assert.notEqual(pool.take(16 * 1024), a, 'another length gets its own');
    const b = pool.take(32 * 1024);
    pool.give(b.subarray(0, 100));
    assert.notEqual(pool.take(100).buffer, b.buffer, 'a short answer (a view) is left to the collector');
  });

  test(`at most ${MAX_FREE_BYTES / 1024 / 1024} MiB are kept free`, () => {
    const pool = new ReadBuffers();
    const all = Array.from({ length: MAX_FREE_BYTES / (32 * 1024) + 8 }, () => pool.take(32 * 1024));
    for (const b of all) pool.give(b);
    const again = new Set(Array.from({ length: all.length }, () => pool.take(32 * 1024)));
    const reused = all.filter((b) => again.has(b)).length;
    assert.equal(reused, MAX_FREE_BYTES / (32 * 1024));
  });

  test('an ended session\'s buffers serve the next session, zeroed — also those given back after it ended — within the bound', () => {
    const L = 224 * 1024;
    const spares = new SpareReadBuffers(3 * L);
    const first = new ReadBuffers(spares);
    const [a, b, c, late] = [first.take(L), first.take(L), first.take(L), first.take(L)];
    for (const x of [a, b, c, late]) x.fill(0xaa);
    // A span shared as 7 READs' views is free only when every view is back.
    first.share(a, 7);
    for (let i = 0; i < 7; i++) first.give(a.subarray(i * (L / 7), (i + 1) * (L / 7)));
    first.give(b);
    first.clear();
    assert.equal(spares.bytes, 2 * L);
    first.give(late);
    first.give(c);
    assert.equal(spares.bytes, 3 * L, 'beyond the bound a buffer is left to the collector');
    const second = new ReadBuffers(spares);
    const taken = [second.take(L), second.take(L), second.take(L)];
    assert.deepEqual(new Set(taken.map((x) => x.buffer)), new Set([a.buffer, b.buffer, late.buffer]));
    for (const x of taken) assert.ok(x.every((byte) => byte === 0), 'nothing of the ended session\'s file is left in a spare');
    assert.notEqual(second.take(L).buffer, c.buffer, 'no spare left: a new buffer');
  });
});

describe('backend channels', { skip: sshdUnavailable() ?? false }, () => {
  test("output the gateway has not read yet stops at the asset's window: ssh2 refills it only while its buffer is under BACKEND_READ_BUFFER", async () => {
    const sshd = await startSshd();
    const client = new ssh2.Client();
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('ready', () => resolve()).once('error', reject);
        client.connect({ host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey });
      });
      // 16 MiB the gateway does not read (its pump paused: the operator or the hashing is behind).
      const { stream } = await openExec(client, 'head -c 16777216 /dev/zero', null, {});
      stream.pause();
      const channel = stream as unknown as { incoming: { window: number }; readableLength: number };
      for (let i = 0; i < 400 && channel.incoming.window > 0; i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal(channel.incoming.window, 0, 'the asset has sent all the window it was given');
      // Without the lower mark ssh2 goes on refilling until 2 MiB are buffered: 3-4 MiB in all.
      const WINDOW = 2 * 1024 * 1024;
      assert.ok(channel.readableLength <= BACKEND_READ_BUFFER + WINDOW, `${channel.readableLength} bytes buffered`);
      stream.destroy();
    } finally {
      client.end();
      await sshd.stop();
    }
  });
});
