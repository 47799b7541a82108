// `shell` on a session channel: the menu when no target was given, else straight to the
// asset; either way each backend shell is its own audited session.
import type { OperatorChannel } from '../operatorChannel.ts';
import type { GrantedAsset } from '../../core/access/accessService.ts';
import type { Grant } from '../../core/access/grant.ts';
import type { GatewayContext, Operator } from '../context.ts';
import type { SessionState } from './sessionState.ts';
import { LineReader } from '../menu/lineReader.ts';
import { AssetMenu } from '../menu/menu.ts';
import { findAsset, parseMenuTarget, systemUsersFor } from '../targets.ts';
import { backendLost, connectBackend, openShell } from '../backend.ts';
import { LiveSession } from '../liveSession.ts';
import { bridge, type BridgeResult } from '../proxy/bridge.ts';
import { planTaps } from '../proxy/channelTaps.ts';
import { OperatorError, REFUSED_EXIT, exitStatusOf, oneLine, terminalLine } from '../terminalErrors.ts';
import { endChannel } from './endChannel.ts';
import { terminalSafe as safe } from '../terminalSafe.ts';

export async function runShell(gw: GatewayContext, op: Operator, channel: OperatorChannel, state: SessionState): Promise<void> {
  const reader = new LineReader(channel, state.pty !== null);
  const { target } = op;
  if (!target.asset) {
    await runMenu(gw, op, channel, state, reader);
    return;
  }
  try {
    const granted = await gw.services.access.granted(op.user.id);
    const text = [target.systemUser, target.asset].filter(Boolean).join('@');
    const grant = await chooseGrant(gw, op, reader, state, findAsset(granted, target.asset), target.systemUser, text);
    if (!grant) {
      await endChannel(channel, { status: 1 });
      return;
    }
    const res = await shellSession(gw, op, channel, state, reader, grant);
    await endChannel(channel, res.exitSignal ? { signal: res.exitSignal } : { status: res.exitStatus ?? (res.terminated ? REFUSED_EXIT : 0) });
  } catch (err) {
    await endChannel(channel, { status: exitStatusOf(err), stderr: terminalLine(err, op.log), crlf: state.pty !== null });
  }
}

async function runMenu(gw: GatewayContext, op: Operator, channel: OperatorChannel, state: SessionState, reader: LineReader): Promise<void> {
  let ended: 'terminated' | null = null;
  const menu = new AssetMenu(reader, state, {
    granted: () => gw.services.access.granted(op.user.id),
    describe: (err) => terminalLine(err, op.log),
    connect: async (picked: GrantedAsset | null, text: string) => {
      const { systemUser, asset: assetText } = picked ? { systemUser: null, asset: picked.asset.name } : parseMenuTarget(text);
      const granted = picked ? null : await gw.services.access.granted(op.user.id);
      const asset = picked ?? findAsset(granted!, assetText);
      const grant = await chooseGrant(gw, op, reader, state, asset, systemUser, text);
      if (!grant) return true;
      const res = await shellSession(gw, op, channel, state, reader, grant);
      if (res.operatorGone) return false;
      if (res.terminated) {
        ended = 'terminated';
        return false;
      }
      reader.write(`\r\nConnection to ${safe(asset.asset.name)} closed.\r\n`);
      return true;
    },
  }, op.user.username);
  await menu.run();
  await endChannel(channel, { status: ended ? REFUSED_EXIT : 0 });
}

/**
 * The grant for one of the asset's system users: the one asked for, the only one, or the
 * operator's pick (highest priority first). null when the operator backs out of the choice.
 */
async function chooseGrant(gw: GatewayContext, op: Operator, reader: LineReader, state: SessionState, asset: GrantedAsset, wanted: string | null, text: string): Promise<Grant | null> {
  const candidates = systemUsersFor(asset, 'connect', wanted, text);
  let chosen = candidates[0]!;
  if (candidates.length > 1 && state.pty) {
    reader.write(`${safe(asset.asset.name)}: choose a system user\r\n`);
    candidates.forEach((c, i) => reader.write(`  ${i + 1}) ${safe(c.systemUser.username)}${c.systemUser.name !== c.systemUser.username ? ` (${safe(c.systemUser.name)})` : ''}\r\n`));
    for (;;) {
      const answer = await reader.read(`system user [1]: `);
      if (answer === null || answer.trim() === 'q') return null;
      const t = answer.trim();
      const byNumber = /^\d+$/.test(t) ? candidates[Number(t) - 1] : undefined;
      const pick = t === '' ? candidates[0] : byNumber ?? candidates.find((c) => c.systemUser.username === t || c.systemUser.name === t);
      if (pick) {
        chosen = pick;
        break;
      }
      reader.write(`choose 1-${candidates.length}, or q to go back\r\n`);
    }
  }
  return gw.services.access.authorize(op.user.id, asset.asset.id, chosen.systemUser.id, 'connect');
}

/** One backend shell as one audited session; returns when it is over. */
async function shellSession(gw: GatewayContext, op: Operator, channel: OperatorChannel, state: SessionState, reader: LineReader, grant: Grant): Promise<BridgeResult> {
  const { asset, systemUser } = grant;
  let typedPassword: string | undefined;
  if (systemUser.loginMode === 'manual') {
    if (!state.pty) throw new OperatorError(`system user ${systemUser.username} needs a password typed at login; connect with a terminal (ssh -t)`);
    const answer = await reader.read(`${safe(systemUser.username)}@${safe(asset.name)}'s password: `, { echo: false });
    if (answer === null) throw new OperatorError('cancelled');
    typedPassword = answer;
  }
  const live = await LiveSession.open(gw, op, {
    grant, plan: planTaps('shell', state.pty !== null), size: state.pty ? { cols: state.cols, rows: state.rows } : null, term: state.pty?.term,
  });
  if (state.pty) reader.write(`Connecting to ${safe(asset.name)} as ${safe(systemUser.username)}…\r\n`);
  let backendClient;
  let remote;
  try {
    backendClient = await connectBackend(gw, grant, { typedPassword }, live.log);
    remote = await openShell(backendClient, state.backendPty(), state.backendEnv());
  } catch (err) {
    backendClient?.end();
    const line = terminalLine(err, live.log);
    await live.end({ status: 'failed', endReason: line });
    throw new OperatorError(line);
  }
  // Every line the operator submits is checked by the command filters (the plan's guard), typeahead included.
  const res = await bridge(gw, live, channel, remote, state, { typeahead: reader.takeTypeahead() });
  backendClient.end();
  if (res.terminated && channel.writable) reader.write(`\r\n\x1b[1m[bastion] session ended: ${oneLine(res.terminated)}\x1b[0m\r\n`);
  const lost = backendLost(backendClient);
  if (lost && !res.terminated && channel.writable) reader.write(`\r\n[bastion] connection to ${safe(asset.name)} lost: ${oneLine(lost)}\r\n`);
  // Not awaited: the row and the recording tail are closed while the operator moves on
  // (shutdown still waits for them through the registry).
  void live.end({
    status: 'closed', exitStatus: res.exitStatus, exitSignal: res.exitSignal,
    endReason: res.terminated ?? (lost ? `connection lost: ${lost}` : res.operatorGone ? 'operator disconnected' : 'shell exited'),
  });
  return res;
}
