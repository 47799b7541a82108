// The gateway's read scheduler (gateway/fairReads.ts) on real loopback sockets: bulk sockets
// take turns a few at a time, a socket that carries a keystroke is read ahead of their backlog
// and never paused, and every byte of every stream arrives intact and in order. Bytes and turns
// of the event loop are counted; nothing here is timed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { execa } from 'execa';
import { ReadTurns, TURN_BYTES } from '../gateway/fairReads.ts';

/** One libuv read. */
const READ = 64 * 1024;
const BULK_SOCKETS = 8;
const BULK_TOTAL = 16 * 1024 * 1024;
/** Turns of the event loop before the streams count as running (every socket has been read once and the rotation has begun). */
const STEADY_AFTER = 8;
const KEYSTROKES = 10;

interface Stream {
  sock: Socket;
  bytes: number;
  digest: ReturnType<typeof createHash>;
}

/** `count` connections from a sender process of its own, each carrying `total` random bytes; it prints their SHA-256s, one a line. */
async function bulkSenders(count: number, total: number): Promise<{ streams: Stream[]; sent: Promise<string[]>; close(): void }> {
  const server = createServer((s) => s.pause());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const accepted: Socket[] = [];
  const allAccepted = new Promise<void>((resolve) => server.on('connection', (s: Socket) => {
    accepted.push(s);
    if (accepted.length === count) resolve();
  }));
  // One connection after the other, so that accept order is send order.
  const sender = execa(process.execPath, ['-e', `
    const { randomBytes, createHash } = require('node:crypto');
    const net = require('node:net');
    (async () => {
      const sums = [];
      for (let i = 0; i < ${count}; i++) {
        const b = randomBytes(${total});
        sums.push(createHash('sha256').update(b).digest('hex'));
        await new Promise((ok) => net.connect(${port}, '127.0.0.1', function () { this.end(b); ok(); }));
      }
      process.stdout.write(sums.join('\\n'));
    })();
  `]);
  await allAccepted;
  return {
    streams: accepted.map((sock) => ({ sock, bytes: 0, digest: createHash('sha256') })),
    sent: sender.then((r) => r.stdout.split('\n')),
    close: () => {
      for (const s of accepted) s.destroy();
      server.close();
    },
  };
}

/** A loopback connection whose writing end this process holds: the operator who types. */
async function keyboard(): Promise<{ typist: Socket; reader: Socket; close(): void }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const typist = connect((server.address() as { port: number }).port, '127.0.0.1');
  const [[reader]] = await Promise.all([once(server, 'connection') as Promise<[Socket]>, once(typist, 'connect')]);
  typist.setNoDelay(true);
  return { typist, reader, close: () => { typist.destroy(); reader.destroy(); server.close(); } };
}

test('under one scheduler, backlogged bulk sockets take turns (about one turn\'s budget per turn in all), each keystroke is handed over within that budget and its socket is never paused, and every byte arrives intact and in order', { timeout: 60_000 }, async (t) => {
  const { streams, sent, close } = await bulkSenders(BULK_SOCKETS, BULK_TOTAL);
  const keys = await keyboard();
  let running = true;
  // A stalled scheduler makes the test time out: the turn counter, the sockets and the sender must not keep the process alive.
  t.signal.addEventListener('abort', () => { running = false; keys.close(); close(); });
  try {
    const turns = new ReadTurns();
    for (const st of streams) turns.add(st.sock);
    turns.add(keys.reader);

    let turn = 0;
    let thisTurn = 0;
    let maxPerTurn = 0;
    let bulkSoFar = 0;
    /** For each keystroke: the bulk bytes handed over between its write and its arrival. */
    const bulkBeforeKey: number[] = [];
    let keyWrittenAt: number | null = null;
    let keysPaused = false;
    keys.reader.on('pause', () => { keysPaused = true; });
    const typed: Buffer[] = [];
    keys.reader.on('data', (b: Buffer) => {
      typed.push(b);
      if (keyWrittenAt !== null) bulkBeforeKey.push(bulkSoFar - keyWrittenAt);
      keyWrittenAt = null;
    });
    const tick = (): void => {
      turn++;
      if (turn > STEADY_AFTER) maxPerTurn = Math.max(maxPerTurn, thisTurn);
      thisTurn = 0;
      // A key every 10 turns once the streams are running, each after the one before arrived.
      if (turn > STEADY_AFTER && turn % 10 === 0 && keyWrittenAt === null && typed.length < KEYSTROKES) {
        keyWrittenAt = bulkSoFar;
        keys.typist.write(`k${typed.length}`);
      }
      if (running) setImmediate(tick);
    };
    const ended = streams.map((st) => {
      st.sock.on('data', (b: Buffer) => {
        // The work per byte of the gateway's decryption and re-encryption (0.5 ms per 64 KiB):
        // the reader stays behind, so every bulk socket always has more waiting.
        const until = performance.now() + b.length / (128 * 1024);
        while (performance.now() < until) { /* busy */ }
        st.digest.update(b);
        st.bytes += b.length;
        bulkSoFar += b.length;
        thisTurn += b.length;
      });
      return once(st.sock, 'end');
    });
    setImmediate(tick);
    for (const st of streams) st.sock.resume();
    await Promise.all(ended);
    running = false;
    t.diagnostic(`at most ${maxPerTurn} bulk bytes in one turn; bulk bytes between a key's write and its arrival: ${bulkBeforeKey.join(', ')}`);

    const sums = await sent;
    for (const [i, st] of streams.entries()) {
      assert.equal(st.bytes, BULK_TOTAL);
      assert.equal(st.digest.digest('hex'), sums[i], `bulk stream ${i} arrives intact and in order`);
    }
    assert.equal(Buffer.concat(typed).toString(), Array.from({ length: KEYSTROKES }, (_, i) => `k${i}`).join(''), 'every key arrived, in order');
    assert.equal(keysPaused, false, 'the keystroke socket was never paused');
    // The budget, the read that crossed it, what the sockets woken for the turn had buffered,
    // and a partial read. Without the scheduler all eight are read in every turn,
    // each as long as it has data (up to 32 reads): 700 KiB and more here.
    const bound = TURN_BYTES + 4 * READ;
    assert.ok(maxPerTurn <= bound, `${maxPerTurn} bulk bytes in one turn (bound ${bound})`);
    assert.equal(bulkBeforeKey.length, KEYSTROKES);
    for (const before of bulkBeforeKey) assert.ok(before <= bound, `${before} bulk bytes came between a keystroke and its arrival (bound ${bound})`);
    assert.equal(turns.waiting, 0, 'nobody is left waiting once the streams have ended');
  } finally {
    keys.close();
    close();
  }
});

test('a socket streaming in small reads is held: its reads stop, what arrives meanwhile comes in one read, and a keystroke socket is never held', { timeout: 30_000 }, async (t) => {
  const stream = await keyboard();
  const keys = await keyboard();
  t.after(() => { stream.close(); keys.close(); });
  // Long enough that the writes below are in the socket's buffer before it is let go; and a
  // socket written to is answering for the rest of the test once it has been (see below).
  const turns = new ReadTurns({ holdMs: 1000, answeringMs: 60_000 });
  turns.add(stream.reader);
  turns.add(keys.reader);
  let keysPaused = false;
  keys.reader.on('pause', () => { keysPaused = true; });

  const chunks: number[] = [];
  let heldOnSmall = -1;
  const got = (n: number) => new Promise<void>((resolve) => {
    const check = (): void => {
      if (chunks.reduce((a, b) => a + b, 0) >= n) { stream.reader.off('data', onData); resolve(); }
    };
    const onData = (b: Buffer): void => { chunks.push(b.length); check(); };
    stream.reader.on('data', onData);
  });
  // A stream: 64 KiB at once, then two small writes, each read by itself.
  stream.typist.write(Buffer.alloc(64 * 1024, 1));
  await got(64 * 1024);
  const first = got(64 * 1024 + 512);
  stream.typist.write(Buffer.alloc(512, 2));
  await first;
  assert.equal(turns.holding, 0, 'one small read of a stream (a packet\'s tail) does not hold it');
  stream.reader.once('data', () => {
    heldOnSmall = turns.holding;
    // Three packets arrive while the socket is held.
    for (let i = 0; i < 3; i++) stream.typist.write(Buffer.alloc(1024, 3));
  });
  stream.typist.write(Buffer.alloc(1024, 2));
  const before = chunks.length;
  await got(64 * 1024 + 512 + 4 * 1024);
  assert.equal(heldOnSmall, 1, 'the second small read in a row of a streaming socket holds it');
  assert.deepEqual(chunks.slice(before), [1024, 3072], 'what arrived while it was held came in one read');
  assert.equal(turns.holding, 0);

  // Streaming again and held again, then something is sent on it (a request whose answer is awaited): let go at once.
  let total = 64 * 1024 + 512 + 4 * 1024;
  stream.typist.write(Buffer.alloc(64 * 1024, 4));
  await got((total += 64 * 1024));
  stream.typist.write(Buffer.alloc(512, 5));
  await got((total += 512));
  let heldBeforeWrite = -1;
  let heldAfterWrite = -1;
  stream.reader.once('data', () => {
    heldBeforeWrite = turns.holding;
    stream.reader.write('request');
    heldAfterWrite = turns.holding;
    stream.typist.write(Buffer.alloc(512, 6));
  });
  stream.typist.write(Buffer.alloc(512, 5));
  await got((total += 1024));
  assert.equal(heldBeforeWrite, 1, 'held again by two small reads in a row');
  assert.equal(heldAfterWrite, 0, 'a write on a held socket lets it go');

  // Written to (just above): answering, so small reads in a row of a streaming socket do not hold it.
  stream.typist.write(Buffer.alloc(64 * 1024, 7));
  await got((total += 64 * 1024));
  for (let i = 0; i < 3; i++) {
    stream.typist.write(Buffer.alloc(512, 8));
    await got((total += 512));
    assert.equal(turns.holding, 0, 'a socket written to recently is not held');
  }

  // Keystrokes, each after the one before arrived: never held, never paused.
  const typed: string[] = [];
  for (let i = 0; i < 20; i++) {
    const arrived = once(keys.reader, 'data');
    keys.typist.write(`k${i}`);
    typed.push(String((await arrived)[0]));
    assert.equal(turns.holding, 0);
  }
  assert.equal(typed.join(''), Array.from({ length: 20 }, (_, i) => `k${i}`).join(''));
  assert.equal(keysPaused, false, 'the keystroke socket was never paused');
});
