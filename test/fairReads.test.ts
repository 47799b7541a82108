import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execa } from 'execa';
import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { FAIR_READ_BYTES, fairReads } from '../gateway/fairReads.ts';

/** Bytes read at full speed first, so that the kernel's receive window grows past the bound. */
const WARM_UP = 4 * 1024 * 1024;

/**
 * Streams `total` bytes over a real loopback TCP connection to a reader that works on every
 * byte (0.5 ms per 64 KiB) and so stays behind. Returns what arrived and the most bytes
 * delivered within one turn of the event loop (between two setImmediate ticks).
 *
 * The reader first drains WARM_UP bytes at full speed (the kernel grows the receive window for
 * a reader that keeps up), then stops until the kernel buffer has filled: the first turn after
 * that finds megabytes waiting, whether or not the sender gets CPU meanwhile on a loaded machine.
 */
async function backlog(total: number, fair: boolean): Promise<{ digest: string; sent: string; bytes: number; maxPerTurn: number }> {
  const server = createServer((s) => s.pause());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  // The sender is a process of its own, so it keeps writing while this one is busy reading.
  const sender = execa(process.execPath, ['-e', `
    const b = require('node:crypto').randomBytes(${total});
    process.stdout.write(require('node:crypto').createHash('sha256').update(b).digest('hex'));
    require('node:net').connect(${(server.address() as { port: number }).port}, '127.0.0.1', function () { this.end(b); });
  `]);
  const [sock] = (await once(server, 'connection')) as [Socket];
  const got = createHash('sha256');
  let bytes = 0;
  let measuring = false;
  let thisTurn = 0;
  let maxPerTurn = 0;
  let reading = true;
  const tick = (): void => {
    if (measuring) maxPerTurn = Math.max(maxPerTurn, thisTurn);
    thisTurn = 0;
    if (reading) setImmediate(tick);
  };
  let warmedUp: () => void = () => {};
  const warm = new Promise<void>((resolve) => { warmedUp = resolve; });
  sock.on('data', (b: Buffer) => {
    if (measuring) {
      // Work per byte, as the gateway's decryption and re-encryption: the reader stays behind,
      // so the kernel always has more to hand over and a plain socket is read many times per turn.
      const until = performance.now() + b.length / (128 * 1024);
      while (performance.now() < until) { /* busy */ }
    }
    got.update(b);
    bytes += b.length;
    thisTurn += b.length;
    if (!measuring && bytes >= WARM_UP) {
      sock.pause();
      warmedUp();
    }
  });
  sock.resume();
  await warm;
  // Let the kernel buffers fill while nobody reads.
  await new Promise((r) => setTimeout(r, 200));
  if (fair) fairReads(sock);
  measuring = true;
  thisTurn = 0;
  setImmediate(tick);
  sock.resume();
  await once(sock, 'end');
  reading = false;
  maxPerTurn = Math.max(maxPerTurn, thisTurn);
  const { stdout: sent } = await sender;
  sock.destroy();
  server.close();
  return { digest: got.digest('hex'), sent, bytes, maxPerTurn };
}

test('a socket under fairReads hands over at most its budget (plus the read in hand) per turn, every byte in order', async (t) => {
  const total = 16 * 1024 * 1024;
  // The budget, the read that crossed it and what the paused stream buffered meanwhile.
  const bound = FAIR_READ_BYTES + 2 * 64 * 1024;
  // First the situation it guards against: a plain socket handing over far more in one turn.
  let plainMost = 0;
  for (let run = 0; run < 8 && plainMost <= 2 * bound; run++) {
    const plain = await backlog(total, false);
    t.diagnostic(`plain socket, run ${run + 1}: at most ${plain.maxPerTurn} bytes in one turn`);
    plainMost = Math.max(plainMost, plain.maxPerTurn);
  }
  // Above the bound is what fairReads must prevent; on a loaded machine the kernel's window may
  // not grow enough in eight runs to show the whole 2 MiB burst, so more than the bound will do.
  assert.ok(plainMost > bound, `a plain socket handed over at most ${plainMost} bytes in one turn (bound ${bound})`);
  for (let run = 0; run < 3; run++) {
    const fair = await backlog(total, true);
    t.diagnostic(`with fairReads, run ${run + 1}: at most ${fair.maxPerTurn} bytes in one turn`);
    assert.equal(fair.bytes, total);
    assert.equal(fair.digest, fair.sent, 'the bytes arrive intact and in order');
    assert.ok(fair.maxPerTurn <= bound, `${fair.maxPerTurn} bytes in one turn (bound ${bound})`);
  }
});
