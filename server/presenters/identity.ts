import type { LockedPair } from '../../core/identity/loginThrottle.ts';
import type { ApiToken, User, UserGroup, UserKey } from '../../core/db/entities/index.ts';
import { isLocked } from '../../core/identity/lockout.ts';

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/** The only way a user leaves the core: never a hash, never a TOTP secret. */
export function presentUser(u: User) {
  return {
    id: u.id,
    username: u.username,
    name: u.name,
    email: u.email,
    role: u.role,
    active: u.active,
    expiresAt: iso(u.expiresAt),
    mustChangePassword: u.mustChangePassword,
    mfaEnabled: u.totpEnabled,
    locked: isLocked(u),
    lockedUntil: isLocked(u) ? iso(u.lockedUntil) : null,
    lastLoginAt: iso(u.lastLoginAt),
    comment: u.comment,
    groups: (u.groups ?? []).map((g) => ({ id: g.id, name: g.name })),
    createdAt: iso(u.createdAt),
    updatedAt: iso(u.updatedAt),
  };
}

export function presentGroup(g: UserGroup) {
  return {
    id: g.id,
    name: g.name,
    comment: g.comment,
    users: (g.users ?? []).map((u) => ({ id: u.id, username: u.username, name: u.name })),
    createdAt: iso(g.createdAt),
  };
}

export function presentKey(k: UserKey) {
  return { id: k.id, name: k.name, keyType: k.keyType, fingerprint: k.fingerprint, publicKey: k.publicKey, lastUsedAt: iso(k.lastUsedAt), createdAt: iso(k.createdAt) };
}

export function presentToken(t: ApiToken) {
  return { id: t.id, name: t.name, prefix: t.prefix, expiresAt: iso(t.expiresAt), lastUsedAt: iso(t.lastUsedAt), createdAt: iso(t.createdAt) };
}

export { iso };

/** A (username, source address) pair locked by failed logins. */
export function presentLockedPair(p: LockedPair): { username: string; source: string; failures: number; lockedUntil: string } {
  return { username: p.username, source: p.source, failures: p.failures, lockedUntil: p.lockedUntil.toISOString() };
}
