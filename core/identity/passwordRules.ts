import { ValidationError } from '../errors.ts';

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

/** Length over composition (NIST 800-63B), plus refusing the obvious. */
export function checkPasswordRules(password: string, username: string, field = 'password'): void {
  const problem = passwordProblem(password, username);
  if (problem) throw new ValidationError(problem, { field, reason: problem });
}

export function passwordProblem(password: string, username: string): string | null {
  if (password.length < PASSWORD_MIN_LENGTH) return `password must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (password.length > PASSWORD_MAX_LENGTH) return `password must be at most ${PASSWORD_MAX_LENGTH} characters`;
  const lower = password.toLowerCase();
  if (lower === username.toLowerCase() || lower.includes(username.toLowerCase()) && username.length >= 4) return 'password must not contain the username';
  if (/^(.)\1*$/.test(password)) return 'password must not be one repeated character';
  if (['password', 'admin123', '12345678', '123456789', 'qwertyui', 'changeme', 'administrator'].includes(lower)) return 'password is too common';
  return null;
}
