// The backend SFTP client's DATA answers copied straight into their READ's buffer
// (gateway/sftp/directData.ts), on ssh2's real client against a real sshd: it must be installed
// (it reads ssh2's internals: this fails if an ssh2 release changes them), every byte must arrive
// exact, and every other answer must still reach ssh2's own parser. Through the whole gateway
// and real clients: test/gateway.sftp.test.ts, test/gateway.clients.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'ssh2';
import { BackendSftp } from '../gateway/sftp/backendSftp.ts';
import { SPAN_BYTES } from '../gateway/sftp/readAhead.ts';
import { startSshd, sshdUnavailable, type Sshd } from './helpers/sshd.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';

const skip = sshdUnavailable();
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('backend SFTP: DATA answers straight into the READ\'s buffer', { skip }, () => {
  let sshd: Sshd;
  let client: Client;
  let sftp: BackendSftp;
  let path: string;
  // Not a multiple of a span nor of 32 KiB: the last READ is short.
  const file = randomBytes(3 * 1024 * 1024 + 1000);

  before(async () => {
    sshd = await startSshd();
    const dir = makeTempDir();
    chmodSync(dir, 0o755);
    path = join(dir, 'f.bin');
    writeFileSync(path, file, { mode: 0o644 });
    client = new Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve()).once('error', reject).connect({ host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, readyTimeout: 20_000 });
    });
    sftp = await new Promise<BackendSftp>((resolve, reject) => {
      client.sftp((err, s) => (err ? reject(err) : resolve(new BackendSftp(s))));
    });
  });

  after(async () => {
    client?.end();
    await sshd?.stop();
    await cleanup();
  });

  test('is installed on ssh2\'s client, and a file read in spans and 32 KiB READs at once, among other requests, arrives exact', async () => {
    assert.ok(sftp.directData, 'takeDataDirectly found ssh2\'s SFTP internals as it knows them');
    const before = { ...sftp.directData };
    const handle = await sftp.open(path, 0x01, {});
    // All READs in flight at once, in two sizes, with STAT and OPENDIR answers between their DATA answers.
    const reads: Array<Promise<Buffer>> = [];
    const stats: Array<Promise<{ size?: number }>> = [];
    const dirs: Array<Promise<void>> = [];
    let offset = 0;
    for (let i = 0; offset < file.length; i++) {
      const length = i % 3 === 0 ? SPAN_BYTES : 32 * 1024;
      reads.push(sftp.read(handle, length, offset));
      if (i % 4 === 0) {
        stats.push(sftp.stat(path));
        dirs.push(sftp.opendir(join(path, '..')).then((h) => sftp.close(h)));
      }
      offset += length;
    }
    const parts = await Promise.all(reads);
    const sizes = (await Promise.all(stats)).map((s) => s.size);
    await Promise.all(dirs);
    assert.deepEqual(sizes, sizes.map(() => file.length), 'STAT answers reached ssh2 intact');
    const got = Buffer.concat(parts);
    assert.equal(got.length, file.length);
    assert.equal(sha(got), sha(file));
    assert.equal(sftp.directData.answers - before.answers, reads.length, 'every DATA answer was taken straight');
    assert.equal(sftp.directData.bytes - before.bytes, file.length);
    // The end of the file is ssh2's STATUS EOF: an empty answer.
    assert.equal((await sftp.read(handle, 32 * 1024, file.length)).length, 0);
    await sftp.close(handle);
  });
});
