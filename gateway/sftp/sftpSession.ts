// The steps of an SFTP session before its first request, the same for `sftp -P 2222` (the SSH
// subsystem, channels/sftp.ts) and the web file manager (webFiles/fileSession.ts): resolve the
// target among the assets core/access grants, authorize `connect`, open the audited session
// (kind sftp: FileTransfer rows are its record) while the asset is dialled with the pinned host
// key, log in, open the asset's SFTP server.
import type { GatewayContext, Operator } from '../context.ts';
import { findAsset, systemUsersFor } from '../targets.ts';
import { connectBackend, type BackendClient } from '../backend.ts';
import type { LiveSession } from '../liveSession.ts';
import { openWithLogin } from '../earlyLogin.ts';
import { planTaps } from '../proxy/channelTaps.ts';
import { OperatorError, terminalLine } from '../terminalErrors.ts';
import { BackendSftp } from './backendSftp.ts';

export interface OpenedSftp {
  live: LiveSession;
  client: BackendClient;
  backend: BackendSftp;
}

/**
 * Opens the session for `op.target` (its asset must be named). Refusals are ForbiddenErrors
 * from core/access (no session row); a failure once the row exists ends it as failed and is
 * thrown as an OperatorError with the line the operator should read.
 */
export async function openSftpSession(gw: GatewayContext, op: Operator, asset: string): Promise<OpenedSftp> {
  const { target } = op;
  const text = [target.systemUser, asset].filter(Boolean).join('@');
  const granted = findAsset(await gw.services.access.granted(op.user.id), asset);
  const chosen = systemUsersFor(granted, 'connect', target.systemUser, text)[0]!;
  const grant = await gw.services.access.authorize(op.user.id, granted.asset.id, chosen.systemUser.id, 'connect');
  // No terminal here: a system user in manual login mode is refused by connectBackend.
  const { live, backend } = await openWithLogin(gw, op, { grant, plan: planTaps('sftp', false), size: null }, () => connectBackend(gw, grant, {}, op.log));
  let client: BackendClient | undefined;
  try {
    client = await backend();
    return { live, client, backend: await BackendSftp.open(client) };
  } catch (err) {
    client?.end();
    const line = terminalLine(err, live.log);
    await live.end({ status: 'failed', endReason: line });
    throw new OperatorError(line);
  }
}
