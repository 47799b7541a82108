// Ends a connection with one line the client shows: SSH_MSG_DISCONNECT (RFC 4253 §11.1) with
// the reason as its description. Used for a login refused before it completes and for a
// connection the bastion closes (its user locked or disabled, unused, the gateway stopping).
// OpenSSH prints it at every LogLevel but QUIET ("Received disconnect from HOST port PORT:12: …",
// as for sshd's own "Too many authentication failures"), PuTTY in its fatal error, paramiko in
// its log. Before, a refused login got a userauth banner, hidden at LogLevel=ERROR, and a closed
// connection said nothing. ssh2's own disconnect() sends an empty description; this builds the
// packet the way ssh2 builds its own (ssh2 1.17, lib/protocol/Protocol.js, disconnect).
import type { Connection } from 'ssh2';
import type { Socket } from 'node:net';
import { createRequire } from 'node:module';
import { terminalSafe } from './terminalSafe.ts';

const DISCONNECT = 1;

/** RFC 4253 §11.1 reason codes the gateway gives. */
export const DISCONNECT_REASON = {
  SERVICE_NOT_AVAILABLE: 7,
  BY_APPLICATION: 11,
  TOO_MANY_CONNECTIONS: 12,
  NO_MORE_AUTH_METHODS_AVAILABLE: 14,
} as const;
export type DisconnectReason = (typeof DISCONNECT_REASON)[keyof typeof DISCONNECT_REASON];

interface PacketWriter {
  allocStart: number;
  alloc(size: number, force?: boolean): Buffer;
  finalize(packet: Buffer, force?: boolean): Buffer;
}
interface ConnectionInternals {
  _protocol?: { _packetRW?: { write?: PacketWriter } };
  _sock?: Socket;
}

const { sendPacket } = createRequire(import.meta.url)('ssh2/lib/protocol/utils.js') as { sendPacket: (proto: unknown, packet: Buffer, force?: boolean) => boolean };

/** Longest description sent, in characters: OpenSSH prints at most 400 bytes of it. */
const MAX_TEXT_CHARS = 400;

/**
 * Sends DISCONNECT with `reason` and `text` (one line) and ends the connection. Where ssh2's
 * internals are not as expected, the connection still ends (ssh2's own disconnect, no text).
 */
export function disconnectWith(client: Connection, reason: DisconnectReason, text: string): void {
  const internals = client as unknown as ConnectionInternals;
  const proto = internals._protocol;
  const writer = proto?._packetRW?.write;
  const sock = internals._sock;
  if (proto && writer && sock && typeof writer.alloc === 'function' && typeof sendPacket === 'function') {
    try {
      // A reason may carry a name an admin chose (rule 13); OpenSSH escapes what it prints, other clients may not.
      // Cut by characters, not bytes: a cut inside a character would leave invalid UTF-8.
      const body = Buffer.from([...terminalSafe(text)].slice(0, MAX_TEXT_CHARS).join(''), 'utf8');
      let p = writer.allocStart;
      // Forced, as ssh2 forces its own: a disconnect may be sent during a key exchange.
      const packet = writer.alloc(1 + 4 + 4 + body.length + 4, true);
      packet[p] = DISCONNECT;
      packet.writeUInt32BE(reason, ++p);
      packet.writeUInt32BE(body.length, p += 4);
      body.copy(packet, p += 4);
      packet.writeUInt32BE(0, p + body.length); // empty language tag
      sendPacket(proto, writer.finalize(packet, true), true);
      if (!sock.destroyed) sock.end();
      return;
    } catch {
      // ssh2 changed under us: end it without the text.
    }
  }
  client.end();
}
