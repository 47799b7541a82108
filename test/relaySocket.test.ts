// Every socket the gateway relays on goes through one function (gateway/relaySocket.ts): its
// reads take turns with the others', the bytes it delivers pace the young collections, and its
// writes are batched — whether it is accepted (an operator's), made and then connected (a
// backend's) or made connecting (a tunnel's, net.connect). gateway/index.ts, backend.ts and
// channels/tunnel.ts each call it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, Socket } from 'node:net';
import { once } from 'node:events';
import { relaySocket } from '../gateway/relaySocket.ts';
import { ReadTurns } from '../gateway/fairReads.ts';
import { GarbagePacer } from '../gateway/garbagePacer.ts';

test('a socket made as a tunnel makes it (connecting) is under the read turns, its writes batched, and leaves the turns when it closes', async () => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const kinds: string[] = [];
  const gw = { readTurns: new ReadTurns(), garbage: new GarbagePacer(), options: { onRelaySocket: (kind: string) => void kinds.push(kind) } };
  const sock = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, noDelay: true });
  relaySocket(gw, sock, 'tunnel');
  assert.equal(gw.readTurns.watching, 1, 'under the read turns');
  assert.deepEqual(kinds, ['tunnel']);
  await once(sock, 'connect');
  const [peer] = await accepted;
  try {
    const got: Buffer[] = [];
    peer.on('data', (c: Buffer) => got.push(c));
    sock.write('one ');
    sock.write('two ');
    assert.equal(sock.writableCorked, 1, 'writes of one callback batched');
    // What the peer sends is read through the turns (their listener is first) and still arrives.
    const read: Buffer[] = [];
    sock.on('data', (c: Buffer) => read.push(c));
    peer.write('answer');
    await once(sock, 'data');
    assert.equal(Buffer.concat(read).toString(), 'answer');
    sock.end('three');
    await once(peer, 'end');
    assert.equal(Buffer.concat(got).toString(), 'one two three');
    peer.end();
    await once(sock, 'close');
    assert.equal(gw.readTurns.watching, 0, 'a closed socket leaves the turns');
  } finally {
    sock.destroy();
    peer.destroy();
    server.close();
  }
});
