import { authenticator } from 'otplib';

/** A code's time step (its 30 s slot). */
export const TOTP_STEP_MS = 30_000;

// One step of clock drift either way, as authenticator apps expect.
authenticator.options = { window: 1, step: TOTP_STEP_MS / 1000, digits: 6 };

export function generateTotpSecret(): string {
  return authenticator.generateSecret(20);
}

export function totpUri(secret: string, username: string, issuer = 'Bastion'): string {
  return authenticator.keyuri(username, issuer, secret);
}

export function verifyTotp(secret: string, code: string): boolean {
  return totpStep(secret, code) !== null;
}

/**
 * The time step (30 s slot) a valid code belongs to, or null. Callers store the step of the
 * last accepted code and refuse any code whose step is not newer, so a code works once.
 */
export function totpStep(secret: string, code: string, now = Date.now()): number | null {
  const clean = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(clean)) return null;
  try {
    const delta = authenticator.checkDelta(clean, secret);
    if (delta === null) return null;
    return Math.floor(now / TOTP_STEP_MS) + delta;
  } catch {
    return null;
  }
}

/** The code for the current time step, or `steps` steps away (tests, and showing the next code). */
export function currentTotp(secret: string, steps = 0): string {
  if (steps === 0) return authenticator.generate(secret);
  return authenticator.clone({ epoch: Date.now() + steps * TOTP_STEP_MS }).generate(secret);
}
