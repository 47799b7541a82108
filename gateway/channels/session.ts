// A `session` channel: every request on it is either handled or refused here (rule 3).
// pty-req, window-change, env (TERM/LANG/LC_* only), signal, shell, exec and the sftp
// subsystem are handled; x11, agent forwarding, other subsystems and unknown requests are refused.
import type { ServerChannel, Session } from 'ssh2';
import type { GatewayContext, SshOperator } from '../context.ts';
import { SessionState, forwardableEnv } from './sessionState.ts';
import { runShell } from './shell.ts';
import { runExec } from './exec.ts';
import { runSftp } from './sftp.ts';
import { endChannel } from './endChannel.ts';

/** Signals an operator may send to the backend process. */
const SIGNALS = new Set(['INT', 'TERM', 'HUP', 'QUIT', 'KILL', 'USR1', 'USR2', 'ALRM']);

export function handleSession(gw: GatewayContext, op: SshOperator, session: Session): void {
  const state = new SessionState();
  let started = false;
  const log = op.log;
  /** Forwarding asked for on this channel and refused: said once on stderr when the shell or command starts. */
  const refused = new Set<string>();
  const sayRefused = (channel: ServerChannel): void => {
    const eol = state.pty ? '\r\n' : '\n';
    for (const what of refused) channel.stderr.write(`[bastion] ${what} is not available through the bastion${eol}`);
  };

  session.on('pty', (accept, reject, info) => {
    if (started) return reject?.();
    state.setPty(info);
    accept?.();
  });
  session.on('window-change', (accept, _reject, info) => {
    state.resize(info.cols, info.rows, info.width, info.height);
    accept?.();
  });
  session.on('env', (accept, reject, info) => {
    if (!started && forwardableEnv(info.key, info.val)) {
      state.env[info.key] = info.val;
      accept?.();
      return;
    }
    log.debug({ name: info.key.slice(0, 64) }, 'environment variable not forwarded');
    reject?.();
  });
  session.on('signal', (accept, reject, info) => {
    const name = info.name.replace(/^SIG/, '');
    if (!SIGNALS.has(name) || !state.signalTarget) return reject?.();
    state.signalTarget.signal(name);
    accept?.();
  });
  session.on('x11', (_accept, reject) => {
    op.refusals.note('x11', 'info', {}, 'x11 forwarding refused');
    refused.add('X11 forwarding');
    reject?.();
  });
  session.on('auth-agent', (_accept, reject) => {
    op.refusals.note('agent forwarding', 'info', {}, 'agent forwarding refused');
    refused.add('agent forwarding');
    reject?.();
  });
  session.on('shell', (accept, reject) => {
    if (started) return reject?.();
    started = true;
    const channel = accept();
    if (!channel) return;
    sayRefused(channel);
    runShell(gw, op, channel, state).catch((err: unknown) => log.error({ err }, 'shell failed'));
  });
  session.on('exec', (accept, reject, info) => {
    if (started) return reject?.();
    started = true;
    const channel = accept();
    if (!channel) return;
    sayRefused(channel);
    runExec(gw, op, channel, state, info.command).catch((err: unknown) => log.error({ err }, 'exec failed'));
  });
  // ssh2 hands `subsystem sftp` to this listener with its SFTP server on the channel.
  session.on('sftp', (accept, reject) => {
    if (started) return reject?.();
    started = true;
    const sftp = accept();
    if (!sftp) return;
    runSftp(gw, op, sftp).catch((err: unknown) => log.error({ err }, 'sftp failed'));
  });
  session.on('subsystem', (accept, reject, info) => {
    if (started) return reject?.();
    started = true;
    log.info({ subsystem: info.name.slice(0, 64) }, 'subsystem refused');
    const channel = accept();
    if (!channel) return;
    void endChannel(channel, { status: 1, stderr: `the subsystem '${info.name.slice(0, 64)}' is not available`, crlf: state.pty !== null });
  });
}
