import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import path from 'node:path';
import { Secret } from './secret.ts';
import { readOrCreateOnce } from '../dataDir.ts';

const PREFIX = 'v1:';
const CANARY = 'bastion-vault-canary';

export class VaultKeyError extends Error {}

/**
 * Seals secrets at rest with AES-256-GCM. The key is derived with HKDF from SECRET_KEY,
 * so the operator-facing secret can be any long string and rotating the derivation info
 * gives independent keys later.
 */
export class Vault {
  readonly #key: Buffer;
  constructor(secretKey: Secret<string>) {
    this.#key = Buffer.from(hkdfSync('sha256', secretKey.reveal(), 'bastion-vault-salt', 'bastion vault v1 aes-256-gcm', 32));
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  open(sealed: string): Secret<string> {
    if (!sealed.startsWith(PREFIX)) throw new VaultKeyError('not a sealed value');
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    if (raw.length < 28) throw new VaultKeyError('sealed value is truncated');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return new Secret(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8'));
    } catch {
      throw new VaultKeyError('sealed value cannot be opened with this SECRET_KEY');
    }
  }

  /**
   * HMAC-SHA256 (hex) under a key derived for `purpose`: for short one-time secrets (recovery
   * codes) whose plain SHA-256 could be brute-forced from a stolen database alone.
   */
  keyedHash(purpose: string, value: string): string {
    const key = Buffer.from(hkdfSync('sha256', this.#key, 'bastion-keyed-hash', `bastion ${purpose} v1`, 32));
    return createHmac('sha256', key).update(value).digest('hex');
  }

  sealOptional(plain: string | null | undefined): string | null {
    return plain ? this.seal(plain) : null;
  }

  makeCanary(): string {
    return this.seal(CANARY);
  }

  checkCanary(sealed: string): boolean {
    try {
      return this.open(sealed).reveal() === CANARY;
    } catch {
      return false;
    }
  }
}

/**
 * SECRET_KEY from the environment, or generated once into data/secret.key (0600) and reused.
 * Processes starting together on a fresh data dir all end up with the first one's key.
 */
export function resolveSecretKey(dataDir: string, fromEnv: Secret<string> | undefined): Secret<string> {
  if (fromEnv) return fromEnv;
  const file = path.join(dataDir, 'secret.key');
  const value = readOrCreateOnce(file, () => randomBytes(32).toString('base64url') + '\n').trim();
  if (value.length < 32) throw new VaultKeyError(`${file} is too short; it must hold at least 32 characters`);
  return new Secret(value);
}
