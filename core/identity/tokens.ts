import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A high-entropy random token for cookies and API tokens; only its hash is stored. */
export function newToken(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
