// DATA answers from the asset go straight into the buffer their READ was given (issue 13: PuTTY
// downloads, the gateway's CPU per byte). ssh2's SFTP client gathers every answer packet whole
// before it parses it: a read-ahead span's answer (224 KiB, seven SSH packets from the asset)
// was copied into a Buffer allocated for it alone (allocUnsafe: one new ArrayBuffer per answer,
// outside V8's heap, freed only by a collection), then copied a second time into the READ's
// buffer (readString(req.buffer)). In a pscp download's CPU profile those copies were the
// gateway's largest item after the collector (bufferCopy 11% of its busy time, the allocation 2%).
//
// Here the channel's incoming data is read as SFTP packets first: a DATA answer to a READ
// ssh2 made with a buffer (sftp.read, what BackendSftp.readInto calls) is copied from the
// decrypted SSH packets into that buffer as they come, and ssh2's own callback for the request
// is called with it, exactly as its DATA handler would (same buffer, same byte count, the
// request taken off its table at the same moment: when the answer is whole). Every other
// packet — a DATA ssh2 would reject, an answer to no READ of ours, STATUS, HANDLE, NAME, ATTRS,
// VERSION, extended replies — is handed to ssh2's parser byte for byte, starting at a packet
// boundary, so its state is that of a parser that saw only those packets.
//
// This reads ssh2's internals (lib/protocol/SFTP.js, ssh2 1.17: push, _requests, the parser's
// _pktLenBytes/_pktPos, _maxInPktLen, a request's buffer and cb); when their shape differs it
// is not installed and ssh2 parses everything, as before. test/directData.test.ts fails if it
// is not installed on a real ssh2 SFTP client or if what it delivers differs from the file.
import type { SFTPWrapper } from 'ssh2';

/** One of ssh2's pending requests, as its DATA handler uses it. */
interface PendingRequest {
  cb?: unknown;
  buffer?: unknown;
}

interface ClientInternals {
  push?: (data: Buffer | null) => unknown;
  _requests?: Record<number, PendingRequest | undefined>;
  _maxInPktLen?: number;
  _pktLenBytes?: number;
  _pktPos?: number;
  _pkt?: unknown;
}

const SSH_FXP_DATA = 103;
/** An SFTP packet's length and type. */
const PACKET_HEADER = 5;
/** A DATA answer's header: length, type, request id, data length. */
const DATA_HEADER = 13;

/** What takeDataDirectly has done, for tests and benches. */
export interface DirectData {
  /** DATA answers copied straight into their READ's buffer, and their bytes. */
  answers: number;
  bytes: number;
}

/**
 * Makes `sftp` (ssh2's client side, its VERSION already received and nothing else in flight)
 * copy DATA answers straight into their READ's buffer; null when ssh2's internals are not
 * what this was written against (ssh2 then parses every packet itself).
 */
export function takeDataDirectly(sftp: SFTPWrapper): DirectData | null {
  const c = sftp as unknown as ClientInternals;
  const original = c.push;
  const maxPacket = c._maxInPktLen;
  if (typeof original !== 'function' || typeof c._requests !== 'object' || c._requests === null || typeof maxPacket !== 'number') return null;
  // ssh2's table of requests, read at each use: when it fails every request (a fatal protocol
  // error, the channel's end: cleanupRequests) it swaps in a new, empty one, and a request of
  // the old one must not be answered again.
  const requests = (): Record<number, PendingRequest | undefined> => c._requests ?? {};
  // ssh2's parser must sit between two packets: from here on it is handed whole packets only.
  if (c._pktLenBytes !== 0 || c._pktPos !== 0 || c._pkt !== undefined) return null;
  const pass = (data: Buffer): unknown => original.call(sftp, data);

  const stats: DirectData = { answers: 0, bytes: 0 };
  /** The current packet's first bytes, until it is known whose it is. */
  const header = Buffer.allocUnsafe(DATA_HEADER);
  let headerBytes = 0;
  /** Bytes of the current packet still to hand to ssh2. */
  let passLeft = 0;
  /** The DATA answer being copied: its request, where its bytes go, how many are still to come. */
  let id = 0;
  let request: PendingRequest | null = null;
  let target: Buffer | null = null;
  let written = 0;
  let takeLeft = 0;

  /** The packet is ssh2's: what was gathered of it goes first (a copy: ssh2 may keep a view of what it is given). */
  const passPacket = (length: number): void => {
    passLeft = 4 + length - headerBytes;
    const gathered = Buffer.from(header.subarray(0, headerBytes));
    headerBytes = 0;
    pass(gathered);
  };

  /** The DATA answer is whole: ssh2's callback gets it as its DATA handler would have given it. */
  const deliver = (): void => {
    const req = request!;
    const buf = target!;
    const n = written;
    request = null;
    target = null;
    written = 0;
    // The channel closed meanwhile: ssh2 has already failed the request (cleanupRequests).
    const table = requests();
    if (table[id] !== req) return;
    delete table[id];
    stats.answers++;
    stats.bytes += n;
    (req.cb as (err: undefined, data: Buffer, nb: number) => void)(undefined, buf, n);
  };

  /** The header is complete enough to say whose packet it is. */
  const decide = (): void => {
    const length = header.readUInt32BE(0);
    if (headerBytes === PACKET_HEADER) {
      // Not a DATA answer (or not one that can be: too long, too short): ssh2's.
      if (header[4] !== SSH_FXP_DATA || length > maxPacket || length < DATA_HEADER - 4) passPacket(length);
      return;
    }
    const reqId = header.readUInt32BE(5);
    const dataLength = header.readUInt32BE(9);
    const req = requests()[reqId];
    const buf = req?.buffer;
    if (!req || typeof req.cb !== 'function' || !Buffer.isBuffer(buf) || dataLength !== length - (DATA_HEADER - 4) || dataLength > buf.length) {
      passPacket(length);
      return;
    }
    headerBytes = 0;
    id = reqId;
    request = req;
    target = buf;
    written = 0;
    takeLeft = dataLength;
    if (takeLeft === 0) deliver();
  };

  c.push = function directPush(this: unknown, data: Buffer | null): unknown {
    if (data === null) return original.call(sftp, null);
    let p = 0;
    let result: unknown;
    while (p < data.length) {
      if (passLeft > 0) {
        const n = Math.min(passLeft, data.length - p);
        result = pass(p === 0 && n === data.length ? data : data.subarray(p, p + n));
        passLeft -= n;
        p += n;
      } else if (takeLeft > 0) {
        const n = Math.min(takeLeft, data.length - p);
        data.copy(target!, written, p, p + n);
        written += n;
        takeLeft -= n;
        p += n;
        if (takeLeft === 0) deliver();
      } else {
        // A packet starts, or its header goes on: first its length and type, then (a DATA answer) its id and data length.
        const want = headerBytes < PACKET_HEADER ? PACKET_HEADER : DATA_HEADER;
        const n = Math.min(want - headerBytes, data.length - p);
        data.copy(header, headerBytes, p, p + n);
        headerBytes += n;
        p += n;
        if (headerBytes === want) decide();
      }
    }
    return result;
  };
  return stats;
}
