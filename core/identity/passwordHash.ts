import { hash, verify, Algorithm } from '@node-rs/argon2';

// argon2id with 7 MiB and 5 passes: one of the settings OWASP's Password Storage Cheat Sheet
// lists as equal in strength to its 19 MiB / 2 passes baseline (the same work, traded from
// memory to passes; a login stays around 5 ms here). Each check holds its memory while it runs:
// 19 MiB made every password login lift the gateway's RSS by 19 MiB (issue 13: RSS flat within
// 20 MB during a transfer; every client run logs in), 7 MiB lifts it by 7. Hashes made before keep
// their own parameters (they are in the hash) until the password changes.
const OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 7168, timeCost: 5, parallelism: 1 } as const;

export function hashPassword(plain: string): Promise<string> {
  return hash(plain, OPTIONS);
}

export async function verifyPassword(stored: string | null, plain: string): Promise<boolean> {
  if (!stored) {
    // Same cost as a real check, so an unknown user or a user without a password takes as long.
    await hash(plain, OPTIONS);
    return false;
  }
  try {
    return await verify(stored, plain);
  } catch {
    return false;
  }
}
