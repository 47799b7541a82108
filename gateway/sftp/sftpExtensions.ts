// OpenSSH's SFTP extensions as the gateway passes them on: which ones it knows, how their
// requests read, and the EXTENDED_REPLY packets it answers with. The gateway announces an
// extension only when the asset's SFTP server announced it (limits@openssh.com excepted:
// the limits are the gateway's own), so a client never learns of one it cannot use.

/** Extension names the proxy forwards, with what each needs (see sftpProxy.ts). */
export const FORWARDED_EXTENSIONS = [
  'posix-rename@openssh.com',
  'statvfs@openssh.com',
  'fstatvfs@openssh.com',
  'hardlink@openssh.com',
  'fsync@openssh.com',
  'expand-path@openssh.com',
  'copy-data',
  'home-directory',
] as const;
export type ForwardedExtension = (typeof FORWARDED_EXTENSIONS)[number];
export const LIMITS_EXTENSION = 'limits@openssh.com';

/** What the gateway announces: the forwarded extensions the asset offers, with the asset's version strings, and limits. */
export function announcedExtensions(backend: Readonly<Record<string, string>>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const name of FORWARDED_EXTENSIONS) {
    const data = backend[name];
    if (data !== undefined) out.push([name, data]);
  }
  out.push([LIMITS_EXTENSION, '1']);
  return out;
}

/** Reads the request-specific data of an EXTENDED request; every read throws on a short packet. */
export class ExtendedReader {
  #p = 0;
  readonly #buf: Buffer;

  constructor(buf: Buffer | undefined) {
    this.#buf = buf ?? Buffer.alloc(0);
  }

  string(): Buffer {
    const n = this.#need(4).readUInt32BE(0);
    return this.#need(n);
  }

  text(): string {
    return this.string().toString('utf8');
  }

  uint64(): number {
    const v = this.#need(8).readBigUInt64BE(0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('offset too large');
    return Number(v);
  }

  #need(n: number): Buffer {
    if (this.#p + n > this.#buf.length) throw new RangeError('malformed extended request');
    const out = this.#buf.subarray(this.#p, this.#p + n);
    this.#p += n;
    return out;
  }
}

/** statvfs as ssh2's client parses it (numbers, or bigints with its biOpt). */
export type StatVfs = Record<'f_bsize' | 'f_frsize' | 'f_blocks' | 'f_bfree' | 'f_bavail' | 'f_files' | 'f_ffree' | 'f_favail' | 'f_sid' | 'f_flag' | 'f_namemax', number | bigint>;
const STATVFS_FIELDS = ['f_bsize', 'f_frsize', 'f_blocks', 'f_bfree', 'f_bavail', 'f_files', 'f_ffree', 'f_favail', 'f_sid', 'f_flag', 'f_namemax'] as const;

/** SSH_FXP_EXTENDED_REPLY for statvfs/fstatvfs: eleven uint64 in OpenSSH's order. */
export function statvfsReply(id: number, s: StatVfs): Buffer {
  return extendedReply(id, STATVFS_FIELDS.map((f) => BigInt(s[f])));
}

export interface SftpLimits {
  maxPacketLength: number;
  maxReadLength: number;
  maxWriteLength: number;
  maxOpenHandles: number;
}

/** SSH_FXP_EXTENDED_REPLY for limits@openssh.com. */
export function limitsReply(id: number, l: SftpLimits): Buffer {
  return extendedReply(id, [l.maxPacketLength, l.maxReadLength, l.maxWriteLength, l.maxOpenHandles].map((n) => BigInt(n)));
}

function extendedReply(id: number, values: bigint[]): Buffer {
  const buf = Buffer.allocUnsafe(4 + 1 + 4 + 8 * values.length);
  buf.writeUInt32BE(buf.length - 4, 0);
  buf[4] = 201; // SSH_FXP_EXTENDED_REPLY
  buf.writeUInt32BE(id, 5);
  values.forEach((v, i) => buf.writeBigUInt64BE(v, 9 + 8 * i));
  return buf;
}
