// Every socket the gateway relays bytes on — an operator's connection, its connection to an
// asset, a tunnel's connection to an asset — goes through here, so that none is left out of
// what keeps keystrokes first and memory flat (issue 13): its reads take turns with every other
// socket's (fairReads.ts), the bytes it delivers pace the young collections (garbagePacer.ts),
// and what is written to it in one callback leaves in one system call (writeBatch.ts). A tunnel's
// socket to the asset was made apart from the other two and had none of them: an scp through
// `ssh -J` read up to 2 MiB per turn of the event loop ahead of every other session's keystrokes.
import type { Socket } from 'node:net';
import type { GatewayContext, GatewayOptions } from './context.ts';
import { batchWrites } from './writeBatch.ts';

/** Which side a relayed socket is: an operator's connection, the gateway's to an asset, a tunnel's to an asset. */
export type RelaySocketKind = 'operator' | 'backend' | 'tunnel';

/** Puts `sock` under the gateway's read turns, garbage pacing and write batching; before anything else reads it. */
export function relaySocket(gw: Pick<GatewayContext, 'readTurns' | 'garbage'> & { options: Pick<GatewayOptions, 'onRelaySocket'> }, sock: Socket, kind: RelaySocketKind): void {
  gw.readTurns.add(sock);
  gw.garbage.watch(sock);
  batchWrites(sock);
  gw.options.onRelaySocket?.(kind);
}
