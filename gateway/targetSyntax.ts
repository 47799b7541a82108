// The SSH username carries the target (DESIGN "SSH target syntax"). OpenSSH splits
// `alice@web01@bastion` on the LAST `@`, so the gateway receives `alice@web01`.

export interface LoginTarget {
  /** The Bastion user to authenticate. */
  username: string;
  /** System user name asked for (`alice@deploy@web01`), if any. */
  systemUser: string | null;
  /** Asset name or address asked for, or null for the menu. */
  asset: string | null;
}

/**
 *   alice               → menu
 *   alice@web01         → asset web01
 *   alice@deploy@web01  → asset web01 as system user deploy
 * Anything else (empty parts, more `@`s) is not a valid target; authentication then
 * fails as for an unknown user.
 */
export function parseLoginTarget(sshUsername: string): LoginTarget | null {
  const parts = sshUsername.split('@');
  if (parts.some((p) => p.length === 0) || parts.length > 3) return null;
  const [username, second, third] = parts as [string, string?, string?];
  if (parts.length === 1) return { username, systemUser: null, asset: null };
  if (parts.length === 2) return { username, systemUser: null, asset: second! };
  return { username, systemUser: second!, asset: third! };
}

/** The target as the operator would write it after `ssh -p 2222 <user>@`. */
export function describeTarget(t: LoginTarget): string {
  return [t.systemUser, t.asset].filter(Boolean).join('@');
}
