import { ValidationError } from '../errors.ts';

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

/**
 * Words at the top of every leaked-password list. A password is refused when it is one of
 * them once the usual decorations are taken off: digits and symbols appended
 * ("password123", "Welcome2024!") and look-alike substitutions ("p@ssw0rd").
 */
const COMMON_WORDS = new Set([
  'password', 'passwort', 'passwd', 'admin', 'administrator', 'root', 'qwerty', 'qwertyui', 'qwertyuiop', 'asdfgh', 'asdfghjkl', 'zxcvbnm',
  'letmein', 'welcome', 'changeme', 'iloveyou', 'monkey', 'dragon', 'football', 'baseball', 'sunshine', 'princess', 'master',
  'shadow', 'superman', 'trustno', 'secret', 'login', 'abc', 'abcdef', 'abcdefgh', 'test', 'guest', 'default', 'bastion', 'jumpserver',
]);
const COMMON_EXACT = new Set(['12345678', '123456789', '1234567890', '87654321', '12341234', '11223344', '00000000', '1q2w3e4r', '1qaz2wsx', 'q1w2e3r4']);
const LOOK_ALIKES: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', '$': 's', '!': 'i' };

function isCommon(lower: string): boolean {
  if (COMMON_EXACT.has(lower)) return true;
  const base = lower.replace(/^[\d\W_]+|[\d\W_]+$/g, '');
  return COMMON_WORDS.has(base) || COMMON_WORDS.has(base.replace(/[0134579@$!]/g, (c) => LOOK_ALIKES[c] ?? c));
}

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
  if (isCommon(lower)) return 'password is too common';
  return null;
}
