// An operator's client that stops reading what it is sent (DESIGN rule 13 tests): it no longer
// opens its receive windows, so what the gateway answers waits in the gateway, and whether the
// gateway then stops reading that client can be watched from the client's side.
import type ssh2 from 'ssh2';
import type { ClientChannel } from 'ssh2';

type Ssh2Client = InstanceType<typeof ssh2.Client>;
interface WindowAdjuster { channelWindowAdjust: (channel: number, amount: number) => void }

/** Stops `client` opening its windows; returns how to open one (the gateway's channel id) by `amount` and go on reading as before. */
export function stopReading(client: Ssh2Client): (gatewayChannel: number, amount: number) => void {
  const proto = (client as unknown as { _protocol: WindowAdjuster })._protocol;
  const adjust = proto.channelWindowAdjust;
  proto.channelWindowAdjust = () => undefined;
  return (gatewayChannel, amount) => {
    proto.channelWindowAdjust = adjust;
    adjust.call(proto, gatewayChannel, amount);
  };
}

/**
 * Waits until the gateway reads no more of what a channel sends, and returns the bytes the client
 * could not send (0: the gateway read it all). `roundTrip` goes over another channel of the same
 * connection: everything sent before it has been read, and any window the gateway opened for that
 * has come back. No window and no progress over a whole round trip: the gateway stopped reading.
 */
export async function unsentOnceNotRead(channel: { window(): number; unsent(): number }, roundTrip: () => Promise<void>): Promise<number> {
  let before = -1;
  for (let i = 0; i < 500 && channel.unsent() > 0; i++) {
    await roundTrip();
    if (channel.window() === 0 && channel.unsent() === before) break;
    before = channel.unsent();
  }
  return channel.unsent();
}

/**
 * Stops `client` reading, sends `chunk` `times` over `channel` and returns what it could not send
 * once the gateway read no more (unsentOnceNotRead; the round trip is an exec of `probe` on
 * another channel, answered or refused).
 */
export async function unsentAfterFlood(client: Ssh2Client, channel: ClientChannel, chunk: Buffer, times: number, probe: string): Promise<number> {
  stopReading(client);
  for (let i = 0; i < times; i++) channel.write(chunk);
  const roundTrip = () => new Promise<void>((resolve) => client.exec(probe, (err, ch) => {
    if (err) return resolve();
    ch.on('close', () => resolve());
    ch.resume();
    ch.stderr.resume();
  }));
  return unsentOnceNotRead({ window: () => (channel as unknown as { outgoing: { window: number } }).outgoing.window, unsent: () => channel.writableLength }, roundTrip);
}
