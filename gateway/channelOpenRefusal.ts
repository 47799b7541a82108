// A channel refused at open with a reason the operator's client prints: OpenSSH says
// "channel N: open failed: administratively prohibited: <why>", ssh2 "(SSH) Channel open failure: <why>".
import type { Connection, RejectConnection } from 'ssh2';
import { oneLine } from './terminalErrors.ts';

/** SSH_OPEN_ADMINISTRATIVELY_PROHIBITED and SSH_OPEN_CONNECT_FAILED (RFC 4254 5.1). */
export const PROHIBITED = 1;
export const CONNECT_FAILED = 2;

/**
 * Refuses the channel with `why`. ssh2's reject() always sends an empty description, so its
 * protocol call is given the reason for this one synchronous call (ssh2 1.17, lib/server.js).
 */
export function refuse(connection: Connection, reject: RejectConnection, code: number, why: string): void {
  const proto = (connection as unknown as { _protocol?: { channelOpenFail?: (recipient: number, code: number, desc: string) => void } })._protocol;
  const original = proto?.channelOpenFail;
  if (!proto || typeof original !== 'function') {
    reject();
    return;
  }
  proto.channelOpenFail = (recipient) => original.call(proto, recipient, code, oneLine(`[bastion] ${why}`).slice(0, 300));
  try {
    reject();
  } finally {
    proto.channelOpenFail = original;
  }
}
