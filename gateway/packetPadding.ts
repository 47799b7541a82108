// Random padding for the SSH packets the gateway sends, to operators and to assets, from a pool
// (issue 13: the gateway's CPU per byte on PuTTY downloads). ssh2 fills each packet's 4-19 bytes
// of padding with a crypto.randomFillSync call of its own: towards PuTTY (16 KiB packets) 64 calls
// per MB, each a native job object made and collected — ~4-5% of the gateway's CPU in a pscp
// download; towards the asset, a download's READs and window adjusts (~6 per MB) made ~3% of the
// gateway's busy time in its CPU profile (one call ~14 µs on a loaded host, as much as a whole
// 16 KiB packet's other work). Here the padding comes from a pool of random bytes filled by the
// same CSPRNG a pool at a time; each byte is used once, so every packet's padding is as random as before.
//
// ssh2 allocates the packet (length, padding length, padding) in its cipher object's
// allocPacket, a new object at every key exchange (ssh2 1.17, lib/protocol/crypto.js), so the
// connection's cipher gets its allocPacket replaced after each handshake. The layout is ssh2's,
// for the three cipher classes it uses with its native binding; any other class keeps its own.
// test/packetPadding.test.ts checks that the layout is byte for byte ssh2's for each class, so an
// ssh2 that changes it is noticed.
import { randomFillSync } from 'node:crypto';

/** Random bytes fetched from the CSPRNG at once. */
const POOL_BYTES = 16 * 1024;

/** Random bytes handed out once each, fetched a pool at a time. */
export class RandomPool {
  readonly #pool = Buffer.allocUnsafe(POOL_BYTES);
  #used = POOL_BYTES;

  /** Writes `n` random bytes (n ≤ POOL_BYTES) into `target` at `offset`. */
  fill(target: Buffer, offset: number, n: number): void {
    if (this.#used + n > POOL_BYTES) {
      randomFillSync(this.#pool);
      this.#used = 0;
    }
    this.#pool.copy(target, offset, this.#used, this.#used + n);
    this.#used += n;
  }
}

/** The packet layout of one of ssh2's cipher classes: block size, bytes not padded (ETM/AEAD length), trailer (MAC or tag). */
interface Layout { block: number; aad: number; trailer: number }

interface CipherInternals {
  allocPacket?: (payloadLen: number) => Buffer;
  _encBlockLen?: unknown;
  _aadLen?: unknown;
  _macLen?: unknown;
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

/** ssh2's cipher classes (with its native binding) and where their layout comes from. */
const LAYOUTS: Record<string, (c: CipherInternals) => Layout | null> = {
  AESGCMCipherBinding: () => ({ block: 16, aad: 4, trailer: 16 }),
  ChaChaPolyCipherBinding: () => ({ block: 8, aad: 4, trailer: 16 }),
  GenericCipherBinding: (c) => (isCount(c._encBlockLen) && c._encBlockLen >= 8 && isCount(c._aadLen) && isCount(c._macLen) ? { block: c._encBlockLen, aad: c._aadLen, trailer: c._macLen } : null),
};

/**
 * Replaces `cipher`'s allocPacket with one that takes the padding from `pool`; false (and
 * nothing changed) when it is not one of ssh2's cipher classes this knows.
 */
export function padFromPool(cipher: unknown, pool: RandomPool): boolean {
  if (typeof cipher !== 'object' || cipher === null) return false;
  const c = cipher as CipherInternals;
  const layoutOf = Object.hasOwn(LAYOUTS, cipher.constructor.name) ? LAYOUTS[cipher.constructor.name] : undefined;
  const layout = layoutOf?.(c);
  if (!layout || typeof c.allocPacket !== 'function') return false;
  const { block, aad, trailer } = layout;
  c.allocPacket = (payloadLen: number): Buffer => {
    let pktLen = 4 + 1 + payloadLen;
    let padLen = block - ((pktLen - aad) & (block - 1));
    if (padLen < 4) padLen += block;
    pktLen += padLen;
    const packet = Buffer.allocUnsafe(pktLen + trailer);
    packet.writeUInt32BE(pktLen - 4, 0);
    packet[4] = padLen;
    pool.fill(packet, 5 + payloadLen, padLen);
    return packet;
  };
  return true;
}

/**
 * An ssh2 connection either way: an operator's (ssh2's server-side Connection) or the gateway's
 * to an asset (ssh2's Client). Both declare this overload, so both are assignable to it as they are.
 */
interface HandshakeReporter {
  on(event: 'handshake', listener: () => void): unknown;
}

/** After each key exchange of this connection, its new cipher pads from `pool`. */
export function pooledPadding(conn: HandshakeReporter, pool: RandomPool): void {
  conn.on('handshake', () => {
    // ssh2 sets the connection's new cipher just before it reports the handshake (Server and Client alike);
    // _protocol is ssh2's internal, not in its types.
    padFromPool((conn as { _protocol?: { _cipher?: unknown } })._protocol?._cipher, pool);
  });
}
