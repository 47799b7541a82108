// `direct-tcpip` (`ssh -J alice@bastion:2222 user@web01`, `ssh -W`): allowed only to a
// granted asset's own address and SSH port, with the `tunnel` action, and audited as a
// Session of kind `tunnel` with the bytes of both directions.
import { connect, type Socket } from 'node:net';
import type { AcceptConnection, RejectConnection, ServerChannel, TcpipRequestInfo } from 'ssh2';
import type { GrantedAsset } from '../../core/access/accessService.ts';
import type { GatewayContext, SshOperator } from '../context.ts';
import { LiveSession } from '../liveSession.ts';
import { planTaps } from '../proxy/channelTaps.ts';
import { pump } from '../proxy/pump.ts';
import { terminalLine } from '../terminalErrors.ts';
import { CONNECT_FAILED, PROHIBITED, refuse } from '../channelOpenRefusal.ts';
import { relaySocket } from '../relaySocket.ts';

const CONNECT_TIMEOUT_MS = 10_000;

export async function handleTunnel(gw: GatewayContext, op: SshOperator, accept: AcceptConnection<ServerChannel>, reject: RejectConnection, info: TcpipRequestInfo): Promise<void> {
  const dest = `${info.destIP}:${info.destPort}`.slice(0, 300);
  const granted = await gw.services.access.granted(op.user.id);
  const match = tunnelTarget(granted, info.destIP, info.destPort);
  if (!match) {
    op.refusals.note('tunnel', 'warn', { dest }, 'tunnel refused: no granted asset with the tunnel action at that address');
    // Only granted assets were looked at, so this says nothing about assets the operator may not see.
    refuse(op.connection, reject, PROHIBITED, `no asset granted to you with the tunnel action listens at ${dest}`);
    return;
  }
  const grant = await gw.services.access.authorize(op.user.id, match.asset.asset.id, match.systemUserId, 'tunnel');
  let live: LiveSession;
  try {
    live = await LiveSession.open(gw, op, { grant, plan: planTaps('tunnel', false), size: null });
  } catch (err) {
    op.refusals.note('tunnel', 'warn', { err, dest }, 'tunnel refused');
    refuse(op.connection, reject, PROHIBITED, terminalLine(err, op.log));
    return;
  }
  let failure = '';
  const socket = await dial(gw, grant.asset.address, grant.asset.port).catch((err: Error & { code?: string }) => {
    live.log.info({ code: err.code }, 'tunnel destination unreachable');
    failure = err.code ?? 'failed';
    return null;
  });
  if (!socket) {
    const why = `cannot connect to ${grant.asset.name} (${grant.asset.address}:${grant.asset.port}): ${failure}`;
    refuse(op.connection, reject, CONNECT_FAILED, why);
    await live.end({ status: 'failed', endReason: why });
    return;
  }
  const channel = accept();
  const stops = [pump(channel, socket, (c) => live.input(c)), pump(socket, channel, (c) => live.output(c))];
  channel.on('end', () => socket.end());
  socket.on('end', () => channel.end());
  socket.on('error', (err) => live.log.debug({ err }, 'tunnel socket error'));
  live.onTerminate(() => {
    socket.destroy();
    channel.close();
  });
  let closed = 0;
  const onClose = (): void => {
    if (++closed === 1) {
      // One side is gone: the other follows.
      socket.destroy();
      channel.close();
      for (const stop of stops) stop();
      void live.end({ status: 'closed', endReason: 'tunnel closed' });
    }
  };
  channel.once('close', onClose);
  socket.once('close', onClose);
}

/** The granted asset whose name or address and SSH port the client asked for, with a system user allowing `tunnel`. */
function tunnelTarget(granted: readonly GrantedAsset[], host: string, port: number): { asset: GrantedAsset; systemUserId: string } | null {
  for (const g of granted) {
    if (g.asset.port !== port || (g.asset.address !== host && g.asset.name !== host)) continue;
    const su = g.systemUsers.find((s) => s.actions.includes('tunnel'));
    if (su) return { asset: g, systemUserId: su.systemUser.id };
  }
  return null;
}

function dial(gw: GatewayContext, host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true });
    relaySocket(gw, socket, 'tunnel');
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      socket.setTimeout(0);
      resolve(socket);
    });
    // Kept for the socket's whole life (the caller adds its own logging listener once wired):
    // an error in between must not find the socket without a listener.
    socket.on('error', (err) => {
      if (!connected) reject(err);
    });
  });
}
