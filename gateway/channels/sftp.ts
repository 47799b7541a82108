// `subsystem sftp` on a session channel: `sftp -P 2222 alice@web01@bastion`, and modern
// `scp` (SFTP mode, OpenSSH 9's default). The pipeline of exec — resolve the target,
// authorize `connect`, open an audited session, log in to the asset (sftp/sftpSession.ts,
// shared with the web file manager) — then the asset's
// SFTP server is proxied request by request (sftp/sftpProxy.ts), each file operation
// checked against `upload` / `download` and written as a FileTransfer row.
import type { SFTPWrapper } from 'ssh2';
import type { GatewayContext, Operator } from '../context.ts';
import type { LiveSession } from '../liveSession.ts';
import { OperatorError, REFUSED_EXIT, exitStatusOf, terminalLine } from '../terminalErrors.ts';
import { SftpProxy } from '../sftp/sftpProxy.ts';
import { sessionSftpPolicy } from '../sftp/sftpPolicy.ts';
import { openSftpSession } from '../sftp/sftpSession.ts';

export async function runSftp(gw: GatewayContext, op: Operator, sftp: SFTPWrapper): Promise<void> {
  let live: LiveSession | null = null;
  const policy = sessionSftpPolicy(gw, () => live);
  // Listening starts now: the client's first requests arrive while the asset is dialled.
  const proxy = new SftpProxy(sftp, policy, op.log, gw.spareReadBuffers);
  try {
    if (!op.target.asset) throw new OperatorError(`name the asset to transfer files with: sftp -P <port> ${op.user.username}@<asset>@<bastion>`);
    const { live: session, client, backend } = await openSftpSession(gw, op, op.target.asset);
    live = session;
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
