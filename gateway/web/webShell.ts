// The web terminal's shell: the SSH face's own shell handler (channels/shell.ts) driven by a
// websocket-backed channel. Target choice, system-user prompt, manual-login prompt, access
// check, pinned host key, command guard, recordings, command log, live view, idle timeout
// and terminate are the pipeline's; nothing here re-implements them.
import type { GatewayContext, Operator } from '../context.ts';
import { SessionState } from '../channels/sessionState.ts';
import { runShell } from '../channels/shell.ts';
import type { WebChannel } from './webChannel.ts';

export interface WebShellSize {
  cols: number;
  rows: number;
}

/** The PTY a browser terminal stands for: xterm.js speaks xterm-256color, in UTF-8. */
export function webTerminalState(size: WebShellSize): SessionState {
  const state = new SessionState();
  state.setPty({ term: 'xterm-256color', cols: size.cols, rows: size.rows, width: 0, height: 0, modes: {} });
  // Rule 3 allows LANG through; a browser types and shows UTF-8 (CJK, IME input).
  state.env.LANG = 'C.UTF-8';
  return state;
}

/** Runs until the operator's shell on the asset (or the prompt before it) is over. */
export function runWebShell(gw: GatewayContext, op: Operator, channel: WebChannel, state: SessionState): Promise<void> {
  return runShell(gw, op, channel, state);
}
