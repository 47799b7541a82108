import { authenticator } from 'otplib';

// One step of clock drift either way, as authenticator apps expect.
authenticator.options = { window: 1, step: 30, digits: 6 };

export function generateTotpSecret(): string {
  return authenticator.generateSecret(20);
}

export function totpUri(secret: string, username: string, issuer = 'Bastion'): string {
  return authenticator.keyuri(username, issuer, secret);
}

export function verifyTotp(secret: string, code: string): boolean {
  const clean = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(clean)) return false;
  try {
    return authenticator.verify({ token: clean, secret });
  } catch {
    return false;
  }
}

export function currentTotp(secret: string): string {
  return authenticator.generate(secret);
}
