import { hash, verify, Algorithm } from '@node-rs/argon2';

// argon2id with 7 MiB and 5 passes: one of the settings OWASP's Password Storage Cheat Sheet
// lists as equal in strength to its 19 MiB / 2 passes baseline (the same work, traded from
// memory to passes; a login stays around 5 ms here). Each check holds its memory while it runs:
// 19 MiB made every password login lift the gateway's RSS by 19 MiB (issue 13: RSS flat within
// 20 MB during a transfer; every client run logs in), 7 MiB lifts it by 7. Hashes made before
// still verify (their parameters are in the hash) and are made again at their next login
// (needsRehash, authentication.ts).
const OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 7168, timeCost: 5, parallelism: 1 } as const;

export function hashPassword(plain: string): Promise<string> {
  return hash(plain, OPTIONS);
}

/** Whether `stored` was made with other parameters than OPTIONS (a hash from before they changed): worth hashing again at the next login. */
export function needsRehash(stored: string | null): boolean {
  if (!stored) return false;
  const params = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored);
  return !params || Number(params[1]) !== OPTIONS.memoryCost || Number(params[2]) !== OPTIONS.timeCost || Number(params[3]) !== OPTIONS.parallelism;
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
