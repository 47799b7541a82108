// The SSH username carries the target (DESIGN "SSH target syntax"). OpenSSH splits
// `alice@web01@bastion` on the LAST `@`, so the gateway receives `alice@web01`. Where an `@`
// in a user name confuses a tool (an ssh_config `User`, a URL, a `user@host:path` parser),
// `%` separates the same parts: `alice%deploy%web01`.

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
 *   alice@web01         → asset web01              (alice%web01)
 *   alice@deploy@web01  → asset web01 as system user deploy   (alice%deploy%web01)
 * A name with an `@` is split on `@` only, so an address with `%` in it (an IPv6 zone,
 * `alice@fe80::1%eth0`) still works; otherwise `%` separates. Anything else (empty parts,
 * more separators) is not a valid target; authentication then fails as for an unknown user.
 */
export function parseLoginTarget(sshUsername: string): LoginTarget | null {
  const parts = sshUsername.split(sshUsername.includes('@') ? '@' : '%');
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

/** The SSH username for a target: the inverse of parseLoginTarget (`@` form). */
export function formatLoginTarget(t: LoginTarget): string {
  return [t.username, t.systemUser, t.asset].filter((p): p is string => Boolean(p)).join('@');
}

/** One word for a POSIX shell: as is when it is plain, else single-quoted. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9@%+=:,./_-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface TargetCommands {
  ssh: string;
  scp: string;
  sftp: string;
}

/**
 * What an operator types to reach a target through the bastion at `host`:`port`, each word
 * shell-quoted (an asset may be called anything). scp's remote path is a placeholder.
 */
export function targetCommands(t: LoginTarget, host: string, port: number): TargetCommands {
  const login = `${formatLoginTarget(t)}@${host}`;
  const p = port === 22 ? '' : `-p ${port} `;
  const P = port === 22 ? '' : `-P ${port} `;
  return {
    ssh: `ssh ${p}${shellQuote(login)}`,
    scp: `scp ${P}FILE ${shellQuote(`${login}:/tmp/`)}`,
    sftp: `sftp ${P}${shellQuote(login)}`,
  };
}
