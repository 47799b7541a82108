import { ValidationError } from '../errors.ts';

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;
/** A username shorter than this may appear inside a password ("bob" in "bobsleigh…"); the whole name never. */
const USERNAME_IN_PASSWORD_MIN = 4;

/**
 * Words at the top of every leaked-password list. A password is refused when it is one of
 * them once the usual decorations are taken off: digits and symbols appended
 * ("password123", "Welcome2024!") and look-alike substitutions ("p@ssw0rd").
 */
const COMMON_WORDS = [
  'password', 'passwort', 'passwd', 'admin', 'administrator', 'root', 'qwerty', 'qwertyui', 'qwertyuiop', 'asdfgh', 'asdfghjkl', 'zxcvbnm',
  'letmein', 'welcome', 'changeme', 'iloveyou', 'monkey', 'dragon', 'football', 'baseball', 'sunshine', 'princess', 'master',
  'shadow', 'superman', 'trustno', 'secret', 'login', 'abc', 'abcdef', 'abcdefgh', 'test', 'guest', 'default', 'bastion', 'jumpserver',
];
const COMMON_EXACT = ['12345678', '123456789', '1234567890', '87654321', '12341234', '11223344', '00000000', '1q2w3e4r', '1qaz2wsx', 'q1w2e3r4'];
const LOOK_ALIKES: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', '$': 's', '!': 'i' };
const COMMON_WORD_SET = new Set(COMMON_WORDS);
const COMMON_EXACT_SET = new Set(COMMON_EXACT);

/** Stable codes of the rules, in the order they are checked; the web app words them and checks them as the user types. */
export type PasswordRule = 'too_short' | 'too_long' | 'contains_username' | 'repeated_character' | 'too_common';

const MESSAGES: Record<PasswordRule, string> = {
  too_short: `password must be at least ${PASSWORD_MIN_LENGTH} characters`,
  too_long: `password must be at most ${PASSWORD_MAX_LENGTH} characters`,
  contains_username: 'password must not contain the username',
  repeated_character: 'password must not be one repeated character',
  too_common: 'password is too common',
};

function isCommon(lower: string): boolean {
  if (COMMON_EXACT_SET.has(lower)) return true;
  const base = lower.replace(/^[\d\W_]+|[\d\W_]+$/g, '');
  return COMMON_WORD_SET.has(base) || COMMON_WORD_SET.has(base.replace(/[0134579@$!]/g, (c) => LOOK_ALIKES[c] ?? c));
}

/** The rules as data for `GET /auth/password-policy`: the web app runs the same checks while the user types. */
export function passwordPolicy() {
  return {
    minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH, usernameMinLength: USERNAME_IN_PASSWORD_MIN,
    rules: Object.keys(MESSAGES) as PasswordRule[], commonWords: COMMON_WORDS, commonExact: COMMON_EXACT, lookAlikes: LOOK_ALIKES,
  };
}

/** Length over composition (NIST 800-63B), plus refusing the obvious. */
export function checkPasswordRules(password: string, username: string, field = 'password'): void {
  const rule = brokenPasswordRule(password, username);
  if (rule) throw new ValidationError(MESSAGES[rule], { field, reason: `password_${rule}`, rule, ...(rule === 'too_short' ? { min: PASSWORD_MIN_LENGTH } : rule === 'too_long' ? { max: PASSWORD_MAX_LENGTH } : {}) });
}

export function brokenPasswordRule(password: string, username: string): PasswordRule | null {
  if (password.length < PASSWORD_MIN_LENGTH) return 'too_short';
  if (password.length > PASSWORD_MAX_LENGTH) return 'too_long';
  const lower = password.toLowerCase();
  const name = username.toLowerCase();
  if (lower === name || (lower.includes(name) && username.length >= USERNAME_IN_PASSWORD_MIN)) return 'contains_username';
  if (/^(.)\1*$/.test(password)) return 'repeated_character';
  if (isCommon(lower)) return 'too_common';
  return null;
}

/** The refusal as a sentence (the SSH forced change prints it), or null. */
export function passwordProblem(password: string, username: string): string | null {
  const rule = brokenPasswordRule(password, username);
  return rule ? MESSAGES[rule] : null;
}
