// What an SFTP channel needs beyond the SFTP packets: a line on the client's stderr and an
// exit status. ssh2's server-side SFTP object has neither (it is not a Channel), so these
// are sent on its channel through ssh2's protocol object, guarded in case its shape changes.
import type { SFTPWrapper } from 'ssh2';
import { oneLine } from '../terminalErrors.ts';

interface ChannelInternals {
  outgoing?: { id: number; state: string; window: number };
  _protocol?: {
    channelExtData?: (chan: number, data: Buffer, type: number) => void;
    exitStatus?: (chan: number, status: number) => void;
  };
}

function internals(sftp: SFTPWrapper): ChannelInternals {
  return sftp as unknown as ChannelInternals;
}

/** One line on the client's stderr (OpenSSH's sftp and scp print it). */
export function writeStderr(sftp: SFTPWrapper, line: string): void {
  const { outgoing, _protocol: proto } = internals(sftp);
  const data = Buffer.from(`${oneLine(line)}\r\n`);
  if (!outgoing || outgoing.state !== 'open' || outgoing.window < data.length || typeof proto?.channelExtData !== 'function') return;
  outgoing.window -= data.length;
  proto.channelExtData(outgoing.id, data, 1);
}

/** The exit-status request: scp counts a session without one (or not 0) as failed. */
export function sendExitStatus(sftp: SFTPWrapper, status: number): void {
  const { outgoing, _protocol: proto } = internals(sftp);
  if (!outgoing || (outgoing.state !== 'open' && outgoing.state !== 'eof') || typeof proto?.exitStatus !== 'function') return;
  proto.exitStatus(outgoing.id, status);
}
