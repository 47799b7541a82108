// DESIGN rule 13, for gateway/sftp/directData.ts: a hostile asset's SFTP server cannot make the
// backend SFTP client answer one READ twice. Once ssh2 has failed every request (a fatal
// protocol error, or the channel's end: cleanupRequests swaps in a new request table), a DATA
// answer that follows must not reach the request again. The server here is ssh2's own, speaking
// raw SFTP packets on a plain subsystem channel, as a modified sftp-server on an asset could.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import ssh2 from 'ssh2';
import type { AddressInfo } from 'node:net';
import { BackendSftp } from '../gateway/sftp/backendSftp.ts';

const { Client, Server, utils } = ssh2;
const SSH_FXP_INIT = 1;
const SSH_FXP_VERSION = 2;
const SSH_FXP_READ = 5;
const SSH_FXP_DATA = 103;

function packet(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(1 + body.length, 0);
  head[4] = type;
  return Buffer.concat([head, body]);
}

let server: InstanceType<typeof Server>;
let client: InstanceType<typeof Client>;

before(async () => {
  server = new Server({ hostKeys: [utils.generateKeyPairSync('ed25519').private] }, (conn) => {
    conn.on('error', () => undefined);
    conn.on('authentication', (ctx) => ctx.accept());
    conn.on('ready', () => conn.on('session', (accept) => {
      accept().on('subsystem', (acceptSub) => {
        const ch = acceptSub();
        let got = Buffer.alloc(0);
        ch.on('data', (d: Buffer) => {
          got = Buffer.concat([got, d]);
          while (got.length >= 4 && got.length >= 4 + got.readUInt32BE(0)) {
            const p = got.subarray(0, 4 + got.readUInt32BE(0));
            got = got.subarray(p.length);
            if (p[4] === SSH_FXP_INIT) ch.write(packet(SSH_FXP_VERSION, Buffer.from([0, 0, 0, 3])));
            if (p[4] === SSH_FXP_READ) {
              const id = p.readUInt32BE(5);
              const data = Buffer.from('sixteen bytes!!!');
              const body = Buffer.alloc(8 + data.length);
              body.writeUInt32BE(id, 0);
              body.writeUInt32BE(data.length, 4);
              data.copy(body, 8);
              // A packet of a type SFTP does not have (ssh2 fails every request and closes the
              // channel), then, in the same write, a whole DATA answer to the READ.
              ch.write(Buffer.concat([packet(250, Buffer.alloc(0)), packet(SSH_FXP_DATA, body)]));
            }
          }
        });
      });
    }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve()).once('error', reject).connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, username: 'x', password: 'x', readyTimeout: 20_000 });
  });
});

after(async () => {
  client?.end();
  await new Promise((resolve) => server.close(resolve));
});

test('a DATA answer after ssh2 has failed the READ does not answer it a second time', async () => {
  const sftp = await new Promise<BackendSftp>((resolve, reject) => {
    client.sftp((err, s) => (err ? reject(err) : resolve(new BackendSftp(s))));
  });
  assert.ok(sftp.directData, 'takeDataDirectly is installed');
  const errors: string[] = [];
  sftp.onError((err) => errors.push(err.message));
  const answers: string[] = [];
  const closed = new Promise<void>((resolve) => sftp.onClose(resolve));
  sftp.readInto(Buffer.from('handle'), 16, 0, Buffer.alloc(16), null, (_key, data, err) => {
    answers.push(data ? `data ${data.toString()}` : `error ${(err as Error).message}`);
  });
  await closed;
  assert.deepEqual(errors, ['Unknown packet type 250']);
  assert.deepEqual(answers, ['error No response from server'], 'the READ is answered once');
  assert.equal(sftp.directData.answers, 0);
});
