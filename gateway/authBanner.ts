// A line for an SSH client that is not logged in yet: SSH_MSG_USERAUTH_BANNER (RFC 4252
// §5.4), which OpenSSH prints on stderr. ssh2 sends a banner only once, at the start, from
// its static `banner` option; this sends one at any point of the authentication, built the
// way ssh2 builds its own (ssh2 1.17, lib/protocol/Protocol.js, SERVICE_ACCEPT).
import type { Connection } from 'ssh2';
import { createRequire } from 'node:module';

const USERAUTH_BANNER = 53;

interface PacketWriter {
  allocStart: number;
  alloc(size: number): Buffer;
  finalize(packet: Buffer): Buffer;
}
interface ProtocolInternals {
  _packetRW?: { write?: PacketWriter };
}

const { sendPacket } = createRequire(import.meta.url)('ssh2/lib/protocol/utils.js') as { sendPacket: (proto: unknown, packet: Buffer) => boolean };

/** Sends `text` (one line, CRLF added) as a userauth banner; false when ssh2's internals are not as expected. */
export function sendAuthBanner(client: Connection, text: string): boolean {
  const proto = (client as unknown as { _protocol?: ProtocolInternals })._protocol;
  const writer = proto?._packetRW?.write;
  if (!proto || !writer || typeof writer.alloc !== 'function' || typeof sendPacket !== 'function') return false;
  try {
    const body = Buffer.from(`${text}\r\n`, 'utf8');
    let p = writer.allocStart;
    const packet = writer.alloc(1 + 4 + body.length + 4);
    packet[p] = USERAUTH_BANNER;
    packet.writeUInt32BE(body.length, ++p);
    body.copy(packet, p += 4);
    packet.writeUInt32BE(0, p + body.length); // empty language tag
    sendPacket(proto, writer.finalize(packet));
    return true;
  } catch {
    return false;
  }
}
