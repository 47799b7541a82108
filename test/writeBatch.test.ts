// The gateway's sockets send what is written to them in one callback with one system call
// (gateway/writeBatch.ts): corked until the callback ends, every byte still arrives, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, connect, Socket } from 'node:net';
import { once } from 'node:events';
import { batchWrites } from '../gateway/writeBatch.ts';

async function socketPair(): Promise<{ writer: Socket; reader: Socket; close(): void }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const writer = connect(address.port, '127.0.0.1');
  await once(writer, 'connect');
  const [reader] = await accepted;
  return { writer, reader, close: () => { writer.destroy(); reader.destroy(); server.close(); } };
}

test('writes made in one callback wait corked until it ends, then leave together', async () => {
  const { writer, reader, close } = await socketPair();
  try {
    batchWrites(writer);
    const got: Buffer[] = [];
    reader.on('data', (c: Buffer) => got.push(c));
    writer.write('one ');
    writer.write('two ');
    // Still in the same callback: held back, not yet handed to the kernel.
    assert.equal(writer.writableCorked, 1);
    assert.equal(writer.writableLength, 8);
    await new Promise((resolve) => process.nextTick(resolve));
    assert.equal(writer.writableCorked, 0);
    writer.end('three');
    await once(reader, 'end');
    assert.equal(Buffer.concat(got).toString(), 'one two three');
  } finally {
    close();
  }
});

test('a socket batched before it connects (a backend\'s) is still batched once connected', async () => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  // As gateway/backend.ts makes a backend's socket: new, wrapped, then connected.
  const writer = new Socket();
  batchWrites(writer);
  writer.connect((server.address() as { port: number }).port, '127.0.0.1');
  await once(writer, 'connect');
  const [reader] = await accepted;
  try {
    const got: Buffer[] = [];
    reader.on('data', (c: Buffer) => got.push(c));
    writer.write('one ');
    writer.write('two ');
    assert.equal(writer.writableCorked, 1, 'net.Socket#connect put the prototype\'s write back');
    writer.end('three');
    await once(reader, 'end');
    assert.equal(Buffer.concat(got).toString(), 'one two three');
  } finally {
    writer.destroy();
    reader.destroy();
    server.close();
  }
});

test('every byte arrives in order while bursts of writes come from many callbacks', async () => {
  const { writer, reader, close } = await socketPair();
  try {
    batchWrites(writer);
    const sent = createHash('sha256');
    const received = createHash('sha256');
    let receivedBytes = 0;
    reader.on('data', (c: Buffer) => {
      received.update(c);
      receivedBytes += c.length;
    });
    let sentBytes = 0;
    for (let burst = 0; burst < 200; burst++) {
      // A few packets per callback, of uneven sizes, as ssh2 writes them.
      for (let i = 0; i < 1 + (burst % 5); i++) {
        const packet = randomBytes(1 + ((burst * 7919 + i * 104729) % 40_000));
        sent.update(packet);
        sentBytes += packet.length;
        if (!writer.write(packet)) await once(writer, 'drain');
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    writer.end();
    await once(reader, 'end');
    assert.equal(receivedBytes, sentBytes);
    assert.equal(received.digest('hex'), sent.digest('hex'));
  } finally {
    close();
  }
});
