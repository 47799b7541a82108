// `exec` on a session channel: `ssh -p 2222 alice@web01@bastion 'uptime'`. Runs the command
// on the asset with or without a PTY, byte-exact, and passes its exit status or signal back.
import type { ServerChannel } from 'ssh2';
import type { GatewayContext, Operator } from '../context.ts';
import type { FilterContext } from '../../core/access/commandFilters.ts';
import type { SessionState } from './sessionState.ts';
import { LineReader } from '../menu/lineReader.ts';
import { findAsset, systemUsersFor } from '../targets.ts';
import { connectBackend, openExec, type BackendClient } from '../backend.ts';
import { openWithLogin } from '../earlyLogin.ts';
import { decideExec } from '../proxy/commandPolicy.ts';
import { bridge } from '../proxy/bridge.ts';
import { OperatorError, REFUSED_EXIT, exitStatusOf, terminalLine } from '../terminalErrors.ts';
import { terminalSafe } from '../terminalSafe.ts';
import { endChannel } from './endChannel.ts';
import { TransferRows } from './transferRows.ts';
import { BackendSftp } from '../sftp/backendSftp.ts';
import { ScpTransferLog, targetNamesDirectory, type LegacyScp } from '../proxy/scpProtocol.ts';
import { awaitRsyncStart, newRsyncNonce, rsyncRows, uploadNeedsDestinationKind, withRsyncLog, withServerOptions, RsyncLogFilter } from '../proxy/rsyncLog.ts';
import { planExec } from '../proxy/channelTaps.ts';
import { hiddenTransferServer } from '../proxy/hiddenTransfers.ts';
import { describeStdinUse, stdinInterpreter } from '../../core/access/stdinInterpreter.ts';

export async function runExec(gw: GatewayContext, op: Operator, channel: ServerChannel, state: SessionState, command: string): Promise<void> {
  const crlf = state.pty !== null;
  try {
    const { target } = op;
    if (!target.asset) throw new OperatorError(`name the asset to run a command on: ssh ${op.user.username}@<asset>@<bastion> '<command>'`);
    const text = [target.systemUser, target.asset].filter(Boolean).join('@');
    const asset = findAsset(await gw.services.access.granted(op.user.id), target.asset);
    const chosen = systemUsersFor(asset, 'connect', target.systemUser, text)[0]!;
    // What this exec gets (recording, guard, transfer log) is the pipeline's decision.
    const plan = planExec(command, state.pty !== null);
    // Legacy scp runs as a command; it is a file transfer and needs that action too.
    // So is rsync (`rsync --server`): proxy/rsyncProtocol.ts.
    const { scp, rsync } = plan;
    const transfer = scp ?? rsync;
    // An rsync upload's receiver sends the sender the block checksums of the files it would
    // replace (the delta algorithm): with -B1 they are the files' bytes, read by an operator
    // without download. Without download, the asset's rsync is made to send whole files
    // (--whole-file, last so it wins): it then sends no checksums.
    const wholeFile = rsync?.direction === 'upload' && !chosen.actions.includes('download') ? ['--whole-file'] : [];
    // rsync logs the files it moves to its stderr, behind a nonce of this session's (proxy/rsyncLog.ts).
    const nonce = rsync ? newRsyncNonce() : '';
    const logged = rsync ? withRsyncLog(command, rsync, nonce, wholeFile) : null;
    // rsync may need more than its direction (a sender that deletes, a command that cannot be read
    // exactly, an upload that cannot be made whole-file); a transfer server behind a wrapper
    // (`sudo scp -t`, `env rsync --server`, an exec'd sftp-server) needs both (hiddenTransfers.ts).
    const needs = rsync ? [...rsync.needs, ...(wholeFile.length && !logged ? ['download' as const] : [])]
      : scp ? [scp.direction]
        : hiddenTransferServer(command) ? ['upload' as const, 'download' as const] : [];
    const missing = needs.find((action) => !chosen.actions.includes(action));
    const refusedTransfer = missing ? `${missing} is not allowed to you on ${asset.asset.name}` : null;
    const grant = await gw.services.access.authorize(op.user.id, asset.asset.id, chosen.systemUser.id, 'connect');
    let typedPassword: string | undefined;
    if (grant.systemUser.loginMode === 'manual' && state.pty) {
      const answer = await new LineReader(channel, true).read(`${terminalSafe(grant.systemUser.username)}@${terminalSafe(grant.asset.name)}'s password: `, { echo: false });
      if (answer === null) throw new OperatorError('cancelled');
      typedPassword = answer;
    }
    // Command filters first: a refused command does not even log in to the asset.
    const filterContext = { userId: op.user.id, assetId: grant.asset.id, systemUserId: grant.systemUser.id };
    const verdict = await gw.services.commandFilters.check(filterContext, command);
    const refusedStdin = verdict.action === 'deny' ? null : await stdinProgramRefusal(gw, plan.refuseStdinProgram, filterContext, command);
    // The backend login and the session row are started together: a command is often short.
    // (earlyLogin.ts: not before the row when the per-user limit leaves no room.)
    const dial = verdict.action === 'deny' || refusedTransfer || refusedStdin ? null : () => connectBackend(gw, grant, { typedPassword }, op.log);
    // Which taps (recording, guard, command recovery for `ssh -t … bash -i`) is the plan's decision.
    const { live, backend, drop } = await openWithLogin(gw, op, { grant, plan, size: state.pty ? { cols: state.cols, rows: state.rows } : null, term: state.pty?.term }, dial);
    const rows = new TransferRows(gw, () => live);
    if (refusedTransfer) {
      const paths = transfer?.paths.length ? transfer.paths : ['.'];
      for (const path of paths) rows.record({ operation: transfer?.direction ?? missing!, path, size: 0, ok: false, message: refusedTransfer });
      await rows.flushed();
      await live.end({ status: 'closed', endReason: refusedTransfer });
      throw new OperatorError(refusedTransfer, 1);
    }
    if (refusedStdin) {
      live.log.info({ command: command.slice(0, 300) }, 'exec refused: its program reads commands from stdin while command filters apply');
      live.recordCommand(command, 'denied');
      await live.end({ status: 'closed', endReason: refusedStdin });
      throw new OperatorError(refusedStdin, 1);
    }
    // The transfer ends once an action it needs is revoked, as the session does for `connect` (rule 11).
    for (const action of needs) live.whileAllowed(action, (why) => live.terminate(why, { by: 'access' }));
    // Records the command (not awaited: rows are batched); a confirm filter waits for an administrator here.
    const decision = await decideExec(gw, live, command, verdict, channel, crlf);
    if (!decision.allowed) {
      drop();
      await live.end({ status: 'closed', endReason: decision.message });
      // A session ended from outside while its command waited is refused like any ended session.
      throw new OperatorError(decision.message, live.termination ? REFUSED_EXIT : 1);
    }
    let backendClient;
    let remote;
    let scpLog: ScpTransferLog | null = null;
    let rsyncLog = logged ? new RsyncLogFilter(nonce) : null;
    try {
      backendClient = await backend();
      const client = backendClient;
      // Ended (an admin, rule 11) while the asset was logged in to: nothing starts there.
      if (live.termination) throw new OperatorError(`session ended: ${live.termination.reason}`);
      const targetIsDir = scp ? scpTargetIsDirectory(client, scp) : Promise.resolve(false);
      remote = await openExec(client, logged ?? command, state.backendPty(), state.backendEnv());
      if (scp) scpLog = new ScpTransferLog(scp, await targetIsDir, (entry) => rows.record(entry));
    } catch (err) {
      backendClient?.end();
      const line = terminalLine(err, live.log);
      await live.end({ status: 'failed', endReason: line });
      throw new OperatorError(line);
    }
    let typeahead: Buffer | undefined;
    if (rsyncLog) {
      // An asset whose rsync refuses the log options (an `rrsync` in front of it) gets the command as the operator gave it
      // (with --whole-file still, when it was needed).
      const start = await awaitRsyncStart(remote.stream, channel);
      if (start.operatorGone) {
        remote.stream.close();
        backendClient.end();
        await live.end({ status: 'closed', endReason: 'operator disconnected' });
        return;
      }
      if (start.refused) {
        live.log.info('the asset\'s rsync did not take the log options: it runs as asked, its transfer logged per path');
        rsyncLog = null;
        try {
          remote = await openExec(backendClient, withServerOptions(command, wholeFile) ?? command, state.backendPty(), state.backendEnv());
        } catch (err) {
          backendClient.end();
          const line = terminalLine(err, live.log);
          await live.end({ status: 'failed', endReason: line });
          throw new OperatorError(line);
        }
      }
      if (start.held.length) typeahead = start.held;
    }
    const log = scpLog;
    const taps = log && scp ? (scp.direction === 'upload'
      ? { input: (c: Buffer) => log.fromSender(c), output: (c: Buffer) => log.fromReceiver(c) }
      : { input: (c: Buffer) => log.fromReceiver(c), output: (c: Buffer) => log.fromSender(c) }) : undefined;
    const res = await bridge(gw, live, channel, remote, state, { ...(taps ? { taps } : {}), ...(rsyncLog ? { stderrFilter: rsyncLog } : {}), ...(typeahead ? { typeahead } : {}) });
    if (rsync) {
      if (rsyncLog) await allRead(rsyncLog);
      // One file sent to a path without a trailing `/`: that path is the file, or the directory it went into.
      const destIsDir = rsyncLog?.sawLog && uploadNeedsDestinationKind(rsync, rsyncLog.files) ? await isDirectoryOnAsset(backendClient, rsync.paths[0]!) : null;
      for (const entry of rsyncRows(rsync, rsyncLog, { ...res, bytesIn: live.bytesIn, bytesOut: live.bytesOut }, destIsDir)) rows.record(entry);
    }
    backendClient.end();
    log?.end();
    // The operator gets the exit status first; the recording and the row are closed after.
    const ended = live.end({
      status: 'closed', exitStatus: res.exitStatus, exitSignal: res.exitSignal,
      endReason: res.terminated ?? (res.operatorGone ? 'operator disconnected' : 'command exited'),
    });
    if (res.terminated) await endChannel(channel, { status: REFUSED_EXIT, stderr: `[bastion] session ended: ${res.terminated}`, crlf });
    else if (res.exitSignal) await endChannel(channel, { signal: res.exitSignal });
    else await endChannel(channel, { status: res.exitStatus ?? 0 });
    await Promise.all([ended, rows.flushed()]);
  } catch (err) {
    await endChannel(channel, { status: exitStatusOf(err), stderr: terminalLine(err, op.log), crlf });
  }
}

/**
 * Why an exec without a PTY is refused because its program would read its commands from stdin
 * (`echo 'rm -rf /' | ssh alice@web01@bastion bash`), where the command filters never see them;
 * null when it may run: the plan does not ask, the setting allows it, or no deny/confirm filter applies.
 */
async function stdinProgramRefusal(gw: GatewayContext, asked: boolean, ctx: FilterContext, command: string): Promise<string | null> {
  if (!asked || gw.services.config.execStdinShell === 'allow') return null;
  const use = stdinInterpreter(command);
  if (use.kind === 'none' || !(await gw.services.commandFilters.restricts(ctx))) return null;
  return `[bastion] command refused: ${describeStdinUse(use)}; use a terminal (ssh -t) or pass the commands as the command`;
}

/**
 * Whether an upload's target is an existing directory on the asset, asked the way the asset's
 * scp asks it when it starts (stat): then each file goes inside it, else it is the file.
 */
async function scpTargetIsDirectory(client: BackendClient, scp: LegacyScp): Promise<boolean> {
  if (scp.direction !== 'upload') return false;
  if (targetNamesDirectory(scp)) return true;
  return (await isDirectoryOnAsset(client, scp.paths[0]!)) ?? false;
}

/** Whether a path on the asset is a directory (asked over SFTP, as the asset's account); null when it cannot be told. */
async function isDirectoryOnAsset(client: BackendClient, path: string): Promise<boolean | null> {
  let sftp: BackendSftp | null = null;
  try {
    sftp = await BackendSftp.open(client);
    return (await sftp.stat(path)).isDirectory();
  } catch {
    return null;
  } finally {
    sftp?.end();
  }
}

/**
 * Resolves once the rsync log filter has read all of the backend's stderr (the channel may
 * close before its last bytes are through), or after a second if its stderr never ends.
 */
function allRead(filter: RsyncLogFilter): Promise<void> {
  if (filter.writableFinished) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 1000);
    timer.unref();
    filter.once('finish', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
