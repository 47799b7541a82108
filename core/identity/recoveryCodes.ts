import { randomInt } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { RecoveryCodeEntity } from '../db/entities/index.ts';
import { newId } from '../ids.ts';
import type { Vault } from '../vault/vault.ts';

export const RECOVERY_CODE_COUNT = 10;
// No 0/o, 1/l/i: codes are read off paper and typed.
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const HALF = 5;
const PURPOSE = 'recovery-code';

/** `xxxxx-xxxxx`: 10 symbols of 31, about 49 bits; only an HMAC keyed by SECRET_KEY is stored. */
function generateCode(): string {
  const pick = () => Array.from({ length: HALF }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  return `${pick()}-${pick()}`;
}

/** The typed text as stored form: case, spaces and the dash do not matter. */
export function normalizeRecoveryCode(text: string): string | null {
  const clean = text.toLowerCase().replace(/[\s-]+/g, '');
  if (clean.length !== HALF * 2 || [...clean].some((c) => !ALPHABET.includes(c))) return null;
  return `${clean.slice(0, HALF)}-${clean.slice(HALF)}`;
}

/** A TOTP code is six digits; anything that normalizes to a recovery code is tried as one. */
export function looksLikeRecoveryCode(text: string): boolean {
  return normalizeRecoveryCode(text) !== null;
}

/** Replaces a user's codes with ten new ones (inside the caller's transaction); returns the plain codes, shown once. */
export async function issueRecoveryCodes(em: EntityManager, vault: Vault, userId: string): Promise<string[]> {
  const repo = em.getRepository(RecoveryCodeEntity);
  await repo.delete({ userId });
  const codes = new Set<string>();
  while (codes.size < RECOVERY_CODE_COUNT) codes.add(generateCode());
  const now = new Date();
  await repo.insert([...codes].map((code) => ({ id: newId(), userId, codeHash: vault.keyedHash(PURPOSE, code), usedAt: null, createdAt: now })));
  return [...codes];
}

/** Spends one unused code: true only for the one caller whose conditional UPDATE claimed it. */
export async function spendRecoveryCode(em: EntityManager, vault: Vault, userId: string, text: string): Promise<boolean> {
  const code = normalizeRecoveryCode(text);
  if (!code) return false;
  // IsNull() would go through the column's time transformer: the condition is written out.
  const res = await em.getRepository(RecoveryCodeEntity).createQueryBuilder().update().set({ usedAt: new Date() })
    .where('user_id = :userId AND code_hash = :hash AND used_at IS NULL', { userId, hash: vault.keyedHash(PURPOSE, code) }).execute();
  return (res.affected ?? 0) === 1;
}

export async function unusedRecoveryCodes(em: EntityManager, userId: string): Promise<number> {
  return em.getRepository(RecoveryCodeEntity).createQueryBuilder('c').where('c.user_id = :userId AND c.used_at IS NULL', { userId }).getCount();
}
