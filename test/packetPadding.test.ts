// The gateway's pooled packet padding (gateway/packetPadding.ts) against ssh2's own packets:
// for each cipher class ssh2 uses, the replaced allocPacket must lay packets out byte for byte
// as ssh2's does (length, padding length, where the payload and the trailer go), and the
// padding must still be random. Fails when an ssh2 update changes its cipher classes. And the
// gateway pads from its pool on both legs: operators' connections and its own to assets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { RandomPool, padFromPool } from '../gateway/packetPadding.ts';
import { ALICE_PASSWORD, inProcessOnly, sshPassword, startWorld } from './gatewayFixture.ts';

interface CipherInfo { sslName: string; keyLen: number; ivLen: number }
interface MacInfo { sslName: string; len: number; actualLen: number; isETM: boolean }
interface Cipher { allocPacket(payloadLen: number): Buffer; constructor: { name: string } }
const ssh2Crypto = createRequire(import.meta.url)('ssh2/lib/protocol/crypto.js') as {
  CIPHER_INFO: Record<string, CipherInfo>;
  MAC_INFO: Record<string, MacInfo>;
  createCipher(config: unknown): Cipher;
};

function cipherOf(name: string, mac: string): Cipher {
  const cipherInfo = ssh2Crypto.CIPHER_INFO[name]!;
  const macInfo = ssh2Crypto.MAC_INFO[mac]!;
  return ssh2Crypto.createCipher({
    outbound: {
      onWrite: () => undefined, seqno: 0, cipherInfo, cipherKey: randomBytes(cipherInfo.keyLen), cipherIV: randomBytes(cipherInfo.ivLen),
      macInfo, macKey: randomBytes(macInfo.len),
    },
  });
}

// What PuTTY (AES-GCM), OpenSSH (ChaCha20) and paramiko (AES-CTR with an HMAC) negotiate with the gateway.
const CASES = [
  ['aes256-gcm@openssh.com', 'hmac-sha2-256-etm@openssh.com', 'AESGCMCipherBinding'],
  ['aes128-gcm@openssh.com', 'hmac-sha2-256', 'AESGCMCipherBinding'],
  ['chacha20-poly1305@openssh.com', 'hmac-sha2-256', 'ChaChaPolyCipherBinding'],
  ['aes256-ctr', 'hmac-sha2-256-etm@openssh.com', 'GenericCipherBinding'],
  ['aes128-ctr', 'hmac-sha2-512', 'GenericCipherBinding'],
] as const;

test('pooled padding lays out every packet as ssh2 does, for each cipher class it uses', () => {
  const pool = new RandomPool();
  for (const [name, mac, cls] of CASES) {
    const theirs = cipherOf(name, mac);
    const ours = cipherOf(name, mac);
    assert.equal(ours.constructor.name, cls, `${name}: ssh2's cipher class`);
    assert.equal(padFromPool(ours, pool), true, `${name}: padded from the pool`);
    for (const len of [0, 1, 2, 3, 4, 5, 11, 12, 13, 15, 16, 17, 31, 100, 1000, 16384, 16384 + 13, 32768]) {
      const a = theirs.allocPacket(len);
      const b = ours.allocPacket(len);
      const padLen = a[4]!;
      assert.equal(b.length, a.length, `${name} ${len}: packet length`);
      assert.deepEqual(b.subarray(0, 5), a.subarray(0, 5), `${name} ${len}: length and padding length`);
      assert.ok(padLen >= 4 && 5 + len + padLen <= a.length, `${name} ${len}: padding ${padLen}`);
    }
  }
});

test('the padding stays random: no two packets get the same bytes, and none is left as allocated', () => {
  const pool = new RandomPool();
  const c = cipherOf('aes256-gcm@openssh.com', 'hmac-sha2-256');
  padFromPool(c, pool);
  const seen = new Set<string>();
  // Several pools' worth, so the pool is refilled on the way.
  for (let i = 0; i < 5000; i++) {
    const p = c.allocPacket(16384);
    seen.add(p.subarray(5 + 16384, 5 + 16384 + p[4]!).toString('hex'));
  }
  assert.equal(seen.size, 5000);
});

test('a cipher that is not one of ssh2\'s classes is left alone', () => {
  const alloc = (n: number) => Buffer.alloc(n);
  const other = { allocPacket: alloc };
  assert.equal(padFromPool(other, new RandomPool()), false);
  assert.equal(other.allocPacket, alloc);
  assert.equal(padFromPool(null, new RandomPool()), false);
});

inProcessOnly('the gateway\'s padding pool is passed as a start option', () => {
  test('the packets the gateway sends to the asset are padded from its pool too, not by a CSPRNG call each', async () => {
    class CountingPool extends RandomPool {
      packets = 0;
      override fill(target: Buffer, offset: number, n: number): void {
        this.packets++;
        super.fill(target, offset, n);
      }
    }
    const pool = new CountingPool();
    const w = await startWorld({ gateway: { padding: pool } });
    try {
      // 8 MiB of stdin go to the asset in SSH packets of at most 32 KiB: at least 256 of them.
      // Towards the operator the gateway sends only the login, window adjusts and the exit: a few dozen.
      const input = randomBytes(8 * 1024 * 1024);
      const r = await sshPassword(w.gw.port, 'alice@web01', ALICE_PASSWORD, ['cat > /dev/null'], { input });
      assert.equal(r.exitCode, 0, String(r.stderr));
      assert.ok(pool.packets >= 256, `packets padded from the pool: ${pool.packets}`);
    } finally {
      await w.stop();
    }
  });
});
