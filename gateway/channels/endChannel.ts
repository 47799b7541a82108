// How every session channel ends: last line on stderr, output flushed, exit status (or
// signal) sent, then EOF and close — the order OpenSSH clients expect.
import type { OperatorChannel } from '../operatorChannel.ts';
import { flushed } from '../proxy/pump.ts';
import { terminalLineOf } from '../terminalSafe.ts';

export interface ChannelEnd {
  status?: number;
  signal?: string;
  /** One line for the operator's stderr (no newline); sanitized here, as it may quote names. */
  stderr?: string;
  /** End the stderr line with CRLF (a PTY is attached). */
  crlf?: boolean;
}

export async function endChannel(channel: OperatorChannel, end: ChannelEnd): Promise<void> {
  if (end.stderr && channel.stderr.writable) channel.stderr.write(`${terminalLineOf(end.stderr)}${end.crlf ? '\r\n' : '\n'}`);
  await flushed(channel);
  await flushed(channel.stderr);
  try {
    if (end.signal) channel.exit(end.signal, false, '');
    else channel.exit(end.status ?? 0);
  } catch {
    // An exit signal the protocol does not know: report a failure status instead.
    channel.exit(255);
  }
  channel.end();
}
