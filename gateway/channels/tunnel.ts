// `direct-tcpip` (`ssh -J alice@bastion:2222 user@web01`, `ssh -W`): allowed only to a
// granted asset's own address and SSH port, with the `tunnel` action, and audited as a
// Session of kind `tunnel` with the bytes of both directions.
import { connect, type Socket } from 'node:net';
import type { AcceptConnection, RejectConnection, ServerChannel, TcpipRequestInfo } from 'ssh2';
import type { GrantedAsset } from '../../core/access/accessService.ts';
import type { GatewayContext, Operator } from '../context.ts';
import { LiveSession } from '../liveSession.ts';
import { pump } from '../proxy/pump.ts';

const CONNECT_TIMEOUT_MS = 10_000;

export async function handleTunnel(gw: GatewayContext, op: Operator, accept: AcceptConnection<ServerChannel>, reject: RejectConnection, info: TcpipRequestInfo): Promise<void> {
  const dest = `${info.destIP}:${info.destPort}`.slice(0, 300);
  const granted = await gw.services.access.granted(op.user.id);
  const match = tunnelTarget(granted, info.destIP, info.destPort);
  if (!match) {
    op.log.warn({ dest }, 'tunnel refused: no granted asset with the tunnel action at that address');
    reject();
    return;
  }
  const grant = await gw.services.access.authorize(op.user.id, match.asset.asset.id, match.systemUserId, 'tunnel');
  let live: LiveSession;
  try {
    live = await LiveSession.open(gw, op, { grant, kind: 'tunnel', action: 'tunnel', size: null, record: false, recoverCommands: false });
  } catch (err) {
    op.log.warn({ err, dest }, 'tunnel refused');
    reject();
    return;
  }
  const socket = await dial(grant.asset.address, grant.asset.port).catch((err: Error & { code?: string }) => {
    live.log.info({ code: err.code }, 'tunnel destination unreachable');
    return null;
  });
  if (!socket) {
    reject();
    await live.end({ status: 'failed', endReason: `cannot connect to ${grant.asset.address}:${grant.asset.port}` });
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

function dial(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true });
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
