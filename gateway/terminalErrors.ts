// Maps any error to the single line an operator sees on the terminal (STYLE rule 5):
// domain errors keep their message, everything else becomes a neutral line with a
// reference the admin can grep in the logs. Never a stack trace.
import { randomBytes } from 'node:crypto';
import { DomainError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { terminalLineOf } from './terminalSafe.ts';

/** An error whose message is already written for the operator (backend down, host key changed…). */
export class OperatorError extends Error {
  constructor(message: string, readonly exitStatus = 1) {
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

/** One line without escape sequences or control characters, so a message (which may quote a name) cannot paint on the terminal. */
export function oneLine(text: string): string {
  return terminalLineOf(text);
}
