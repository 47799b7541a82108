// `subsystem sftp` on a session channel: `sftp -P 2222 alice@web01@bastion`, and modern
// `scp` (SFTP mode, OpenSSH 9's default). The pipeline of exec — resolve the target,
// authorize `connect`, open an audited session, log in to the asset — then the asset's
// SFTP server is proxied request by request (sftp/sftpProxy.ts), each file operation
// checked against `upload` / `download` and written as a FileTransfer row.
import type { SFTPWrapper } from 'ssh2';
import type { GatewayContext, Operator } from '../context.ts';
import { findAsset, systemUsersFor } from '../targets.ts';
import { connectBackend, type BackendClient } from '../backend.ts';
import { LiveSession } from '../liveSession.ts';
import { planTaps } from '../proxy/channelTaps.ts';
import { OperatorError, REFUSED_EXIT, exitStatusOf, terminalLine } from '../terminalErrors.ts';
import { BackendSftp } from '../sftp/backendSftp.ts';
import { SftpProxy } from '../sftp/sftpProxy.ts';
import { sessionSftpPolicy } from '../sftp/sftpPolicy.ts';

export async function runSftp(gw: GatewayContext, op: Operator, sftp: SFTPWrapper): Promise<void> {
  let live: LiveSession | null = null;
  const policy = sessionSftpPolicy(gw, () => live);
  // Listening starts now: the client's first requests arrive while the asset is dialled.
  const proxy = new SftpProxy(sftp, policy, op.log);
  try {
    const { target } = op;
    if (!target.asset) throw new OperatorError(`name the asset to transfer files with: sftp -P <port> ${op.user.username}@<asset>@<bastion>`);
    const text = [target.systemUser, target.asset].filter(Boolean).join('@');
    const asset = findAsset(await gw.services.access.granted(op.user.id), target.asset);
    const chosen = systemUsersFor(asset, 'connect', target.systemUser, text)[0]!;
    const grant = await gw.services.access.authorize(op.user.id, asset.asset.id, chosen.systemUser.id, 'connect');
    // No terminal here: a system user in manual login mode is refused by connectBackend.
    const connecting = connectBackend(gw, grant, {}, op.log);
    connecting.catch(() => undefined);
    try {
      live = await LiveSession.open(gw, op, { grant, plan: planTaps('sftp', false), size: null });
    } catch (err) {
      void connecting.then((c) => c.end(), () => undefined);
      throw err;
    }
    const session = live;
    let client: BackendClient | undefined;
    let backend: BackendSftp;
    try {
      client = await connecting;
      backend = await BackendSftp.open(client);
    } catch (err) {
      client?.end();
      const line = terminalLine(err, session.log);
      await session.end({ status: 'failed', endReason: line });
      throw new OperatorError(line);
    }
    session.onTerminate((reason) => proxy.close(`[bastion] session ended: ${reason}`, reason, REFUSED_EXIT));
    proxy.attach(backend);
    const why = await proxy.done;
    client.end();
    const stats = proxy.stats;
    session.log.debug({ sftp: stats }, 'sftp proxy peak');
    gw.options.onSftpEnd?.(stats);
    await policy.flushed();
    await session.end({ status: 'closed', endReason: why });
  } catch (err) {
    proxy.close(terminalLine(err, op.log), 'refused', exitStatusOf(err));
  }
}
