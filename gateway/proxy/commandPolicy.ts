// Where the command filters (core/access/commandFilters.ts) meet a live session: the guard
// on a shell's input, and the check of an exec command before it starts. Confirmations go
// to administrators through core's CommandConfirmations (the bus), with the configured timeout.
import type { OperatorChannel } from '../operatorChannel.ts';
import type { CommandVerdict } from '../../core/access/commandFilters.ts';
import type { GatewayContext } from '../context.ts';
import type { BackendChannel } from '../backend.ts';
import type { LiveSession } from '../liveSession.ts';
import { CommandGuard, type ConfirmOutcome } from './commandGuard.ts';
import { BUDGET_BYTES } from './pump.ts';
import { terminalLineOf } from '../terminalSafe.ts';
import { drainOrClose } from '../streamBuffers.ts';

function confirmWith(gw: GatewayContext, live: LiveSession, line: string, filterName: string, signal: AbortSignal): Promise<ConfirmOutcome> {
  live.log.info({ command: line.slice(0, 300), filter: filterName }, 'command held for confirmation');
  return gw.services.confirmations.request({
    sessionId: live.id, jobId: null, userId: live.operator.user.id, username: live.operator.user.username, assetName: live.grant.asset.name,
    systemUsername: live.grant.systemUser.username, command: line, filter: filterName,
  }, gw.services.config.confirmTimeoutSeconds * 1000, signal);
}

/** The guard for one shell session's input (see commandGuard.ts). */
export function shellGuard(gw: GatewayContext, live: LiveSession, channel: OperatorChannel, remote: BackendChannel, pty: boolean): CommandGuard {
  const filters = gw.services.commandFilters;
  const ctx = live.filterContext;
  return new CommandGuard({
    pty,
    forward: gatedWriter(channel, live, remote),
    say: (text) => {
      if (channel.writable) channel.write(pty ? text : text.replace(/\r\n/g, '\n').replace(/^\n/, ''));
    },
    pause: () => channel.pause(),
    resume: () => channel.resume(),
    caughtUp: () => {
      const waits = [outputTaken(channel), live.commandsBehind()].filter((w): w is Promise<void> => w !== null);
      return waits.length === 0 ? null : Promise.all(waits).then(() => undefined);
    },
    enabled: () => filters.anyFor(ctx),
    check: (line) => filters.check(ctx, line),
    screenLine: () => live.currentLine(),
    nextOutput: (ms) => live.nextOutput(ms),
    confirm: (line, name, signal) => confirmWith(gw, live, line, name, signal),
    refused: (line, name) => {
      live.log.info({ command: line.slice(0, 300), filter: name }, 'command refused by a filter');
      live.recordCommand(line, 'denied');
    },
  });
}

export interface ExecDecision {
  allowed: boolean;
  /** What the operator is told when it is not. */
  message: string;
  verdict: CommandVerdict;
}

/**
 * Acts on the filters' verdict for an exec command before it starts: a `confirm` waits for
 * an administrator (the operator is told on stderr). The command is recorded here, flagged
 * 'warning' when it needed a confirmation and 'denied' when it was refused.
 */
export async function decideExec(gw: GatewayContext, live: LiveSession, command: string, verdict: CommandVerdict, channel: OperatorChannel, crlf: boolean): Promise<ExecDecision> {
  const name = verdict.filter?.name ?? '';
  const nl = crlf ? '\r\n' : '\n';
  if (verdict.action === 'allow') {
    live.recordCommand(command, 'normal');
    return { allowed: true, message: '', verdict };
  }
  if (verdict.action === 'confirm') {
    if (channel.stderr.writable) channel.stderr.write(`[bastion] command held by filter '${terminalLineOf(name, 200)}': waiting for an administrator to approve…${nl}`);
    const controller = new AbortController();
    const onClose = (): void => controller.abort();
    channel.once('close', onClose);
    // No bridge listens yet: a session ended meanwhile (an admin, rule 11) withdraws the request,
    // or an approval given later would run the command for a session that no longer exists.
    live.onTerminate(onClose);
    let outcome: ConfirmOutcome;
    try {
      outcome = await confirmWith(gw, live, command, name, controller.signal);
    } finally {
      channel.off('close', onClose);
    }
    const ended = live.termination;
    if (ended) {
      live.recordCommand(command, 'denied');
      return { allowed: false, message: `[bastion] session ended: ${terminalLineOf(ended.reason, 300)}`, verdict };
    }
    if (outcome.approved) {
      if (channel.stderr.writable) channel.stderr.write(`[bastion] approved by ${terminalLineOf(outcome.by ?? 'an administrator', 200)}${nl}`);
      live.recordCommand(command, 'warning');
      return { allowed: true, message: '', verdict };
    }
    live.recordCommand(command, 'denied');
    const why = outcome.by ? `rejected by ${outcome.by}` : 'not approved in time';
    return { allowed: false, message: `[bastion] command ${why} (filter '${name}')`, verdict };
  }
  live.log.info({ command: command.slice(0, 300), filter: name }, 'command refused by a filter');
  live.recordCommand(command, 'denied');
  return { allowed: false, message: `[bastion] command refused by filter '${terminalLineOf(name, 200)}'`, verdict };
}

/**
 * Writes to the backend for an InputGate, with pump's backpressure: the operator's
 * channel is paused while the backend has BUDGET_BYTES queued.
 */
export function gatedWriter(channel: OperatorChannel, live: LiveSession, remote: BackendChannel): (bytes: Buffer) => void {
  const backend = remote.stream;
  let waiting = false;
  return (bytes) => {
    live.input(bytes);
    if (!backend.writable) return;
    if (!backend.write(bytes) && !waiting && backend.writableLength >= BUDGET_BYTES) {
      waiting = true;
      channel.pause();
      backend.once('drain', () => {
        waiting = false;
        channel.resume();
      });
    }
  };
}

/** Null while the operator takes what the channel says; else resolves once they have (or it closed: a closed channel never drains). */
function outputTaken(channel: OperatorChannel): Promise<void> | null {
  if (!channel.writableNeedDrain || !channel.writable || channel.destroyed) return null;
  return drainOrClose(channel);
}
