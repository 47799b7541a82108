import type { User } from '../db/entities/index.ts';

export interface LockoutPolicy {
  threshold: number;
  minutes: number;
}

export function isLocked(user: Pick<User, 'lockedUntil'>, now = new Date()): boolean {
  return user.lockedUntil !== null && user.lockedUntil.getTime() > now.getTime();
}

/** The counter after one more real failure, and the lock it earns. */
export function afterFailure(user: Pick<User, 'failedLogins' | 'lockedUntil'>, policy: LockoutPolicy, now = new Date()): { failedLogins: number; lockedUntil: Date | null } {
  // An expired lock starts a fresh count.
  const base = user.lockedUntil && user.lockedUntil.getTime() <= now.getTime() ? 0 : user.failedLogins;
  const failedLogins = base + 1;
  const lockedUntil = failedLogins >= policy.threshold ? new Date(now.getTime() + policy.minutes * 60_000) : user.lockedUntil;
  return { failedLogins, lockedUntil };
}
