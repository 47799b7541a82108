import type { User } from '../db/entities/index.ts';

/** An admin's lock (POST /users/:id/lock). Failed logins lock a (username, source) pair instead: loginThrottle.ts. */
export function isLocked(user: Pick<User, 'lockedUntil'>, now = new Date()): boolean {
  return user.lockedUntil !== null && user.lockedUntil.getTime() > now.getTime();
}
