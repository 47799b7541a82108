// The ciphers offered to one operator's client, chosen by its identification string (issue 13:
// PuTTY downloads ≥ 0.9× ProxyJump). In SSH the client's preference wins, and PuTTY (0.76 and
// later) prefers AES-CTR with an HMAC to AES-GCM, which it also supports: on a download
// through the gateway every byte then costs the gateway an AES pass and a separate
// HMAC-SHA-256 pass (a sixth of its CPU in a pscp download, more than anything else it does),
// where AES-GCM authenticates in the same pass. Offered the AEAD ciphers alone, PuTTY picks
// AES-GCM. Every other client gets SERVER_ALGORITHMS: paramiko 2.12 knows no AEAD cipher.
//
// ssh2 offers one list per server, built before any client is heard. Its server emits
// 'connection' from inside its handler of the client's identification line and sends its
// KEXINIT right after (ssh2 1.17, lib/server.js onHeader, lib/protocol/Protocol.js), so the
// connection's offer can still be replaced there. That is ssh2's internals: the swap is
// guarded (nothing changes when their shape differs) and test/gateway.clients.test.ts checks
// that PuTTY does negotiate AES-GCM through the gateway, so an ssh2 that moves them is noticed.
import type { Connection, Header } from 'ssh2';
import { SERVER_ALGORITHMS } from './algorithms.ts';

/** PuTTY added AES-GCM in 0.76; older releases get the usual offer (they would pick ChaCha20 or fail). */
const PUTTY_GCM = /^PuTTY_Release_(\d+)\.(\d+)/;

/** The AEAD ciphers of SERVER_ALGORITHMS that PuTTY supports: it negotiates one of them, no HMAC. */
export const PUTTY_CIPHERS = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com'] as const;

/** The ciphers to offer a client that identified itself with `software`, or null for SERVER_ALGORITHMS'. */
export function ciphersFor(software: string): readonly string[] | null {
  const m = PUTTY_GCM.exec(software);
  if (!m) return null;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 0 || minor >= 76 ? PUTTY_CIPHERS : null;
}

interface NameList { array: string[]; buffer: Buffer }
interface Offer {
  constructor: new (lists: unknown) => Offer;
  lists: {
    kex: NameList;
    serverHostKey: NameList;
    cs: { cipher: NameList; mac: NameList; compress: NameList; lang: NameList };
    sc: { cipher: NameList; mac: NameList; compress: NameList; lang: NameList };
  };
}

function isNameList(x: unknown): x is NameList {
  return typeof x === 'object' && x !== null && Array.isArray((x as NameList).array) && Buffer.isBuffer((x as NameList).buffer);
}

function offerOf(client: Connection): { proto: { _offer: Offer }; offer: Offer } | null {
  const proto = (client as unknown as { _protocol?: { _offer?: unknown; _kexinit?: unknown } })._protocol;
  const offer = proto?._offer as Offer | undefined;
  // _kexinit is set once ssh2 has sent its KEXINIT: too late to change what it offered.
  if (!proto || proto._kexinit !== undefined || !offer || typeof offer.constructor !== 'function') return null;
  const l = offer.lists;
  const lists = l ? [l.kex, l.serverHostKey, l.cs?.cipher, l.cs?.mac, l.cs?.compress, l.cs?.lang, l.sc?.cipher, l.sc?.mac, l.sc?.compress, l.sc?.lang] : [];
  if (lists.length === 0 || !lists.every(isNameList)) return null;
  return { proto: proto as { _offer: Offer }, offer };
}

/**
 * Call from the server's 'connection' listener: offers this client the ciphers ciphersFor()
 * picks for it, everything else as the server offers it (key exchanges with ssh2's own
 * additions, host keys, MACs). Returns whether the offer was changed.
 */
export function offerForClient(client: Connection, header: Header): boolean {
  const ciphers = ciphersFor(header.versions.software);
  if (!ciphers) return false;
  const found = offerOf(client);
  if (!found) return false;
  const { lists } = found.offer;
  // Only ciphers the server offers anyway: the narrower list never adds one.
  const allowed = SERVER_ALGORITHMS.cipher as readonly string[];
  const cipher = ciphers.filter((c) => allowed.includes(c) && lists.sc.cipher.array.includes(c));
  if (cipher.length === 0) return false;
  const side = (s: Offer['lists']['cs']) => ({ cipher, mac: s.mac.array, compress: s.compress.array, lang: s.lang.array });
  try {
    found.proto._offer = new found.offer.constructor({ kex: lists.kex.array, serverHostKey: lists.serverHostKey.array, cs: side(lists.cs), sc: side(lists.sc) });
    return true;
  } catch {
    return false;
  }
}
