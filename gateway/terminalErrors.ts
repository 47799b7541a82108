// Maps any error to the single line an operator sees on the terminal (STYLE rule 5):
// domain errors keep their message, everything else becomes a neutral line with a
// reference the admin can grep in the logs. Never a stack trace.
import { randomBytes } from 'node:crypto';
import { DomainError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { terminalLineOf } from './terminalSafe.ts';

/**
 * OpenSSH's ssh exits 255 when it cannot reach or log in to the host, and Ansible reads 255
 * as "unreachable": a refusal by the bastion (no access, unknown asset, backend down,
 * session ended by the bastion) ends the channel with the same status.
 */
export const REFUSED_EXIT = 255;

/** An error whose message is already written for the operator (backend down, host key changed…). */
export class OperatorError extends Error {
  /** `exitStatus` 1 where the operator's command itself was refused (a command filter, a missing transfer action). */
  constructor(message: string, readonly exitStatus = REFUSED_EXIT) {
    super(message);
    this.name = 'OperatorError';
  }
}

export function terminalLine(err: unknown, log?: Logger): string {
  if (err instanceof OperatorError || err instanceof DomainError) return oneLine(err.message);
  const ref = randomBytes(4).toString('hex');
  log?.error({ err, ref }, 'unexpected gateway error');
  return `internal error (reference ${ref}); please contact an administrator`;
}

/** The exit status a channel ends with after `err`. */
export function exitStatusOf(err: unknown): number {
  return err instanceof OperatorError ? err.exitStatus : REFUSED_EXIT;
}

/** One line without escape sequences or control characters, so a message (which may quote a name) cannot paint on the terminal. */
export function oneLine(text: string): string {
  return terminalLineOf(text);
}
