import { createHash, createPublicKey } from 'node:crypto';
import ssh2 from 'ssh2';
import { ValidationError } from '../errors.ts';
import type { ErrorReason } from '../errorReasons.ts';

const { utils } = ssh2;

export interface ParsedPublicKey {
  type: string;
  fingerprint: string; // SHA256:base64 without padding, as ssh-keygen -l prints
  comment: string;
  /** The canonical "type base64" line, without comment. */
  canonical: string;
  bits: number | null;
}

const ALLOWED = new Set([
  'ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com',
]);

export function fingerprintOf(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Parses one OpenSSH public key line; refuses private keys, DSA and RSA under 2048 bits. */
export function parsePublicKey(text: string): ParsedPublicKey {
  const line = text.trim();
  if (line.length === 0 || line.length > 16384 || line.includes('\n')) throw invalid('key_not_one_line', 'must be exactly one OpenSSH public key line');
  if (line.includes('PRIVATE KEY')) throw invalid('key_is_private', 'this is a private key; paste the public key (.pub) instead');
  const parts = line.split(/\s+/);
  const type = parts[0] ?? '';
  if (type === 'ssh-dss') throw invalid('key_type_dsa', 'DSA keys are not accepted; use ed25519');
  if (!ALLOWED.has(type)) throw invalid('key_type_unsupported', `unsupported key type '${type.slice(0, 40)}'`);
  const parsed = utils.parseKey(line);
  if (parsed instanceof Error || Array.isArray(parsed)) throw invalid('key_malformed', 'malformed public key');
  if (parsed.isPrivateKey()) throw invalid('key_is_private', 'this is a private key; paste the public key (.pub) instead');
  const blob = parsed.getPublicSSH();
  let bits: number | null = null;
  if (type === 'ssh-rsa') {
    const details = createPublicKey(parsed.getPublicPEM()).asymmetricKeyDetails;
    bits = details?.modulusLength ?? 0;
    if (bits < 2048) throw invalid('key_rsa_too_short', `RSA keys must be at least 2048 bits (this one has ${bits})`, { bits });
  }
  return {
    type,
    fingerprint: fingerprintOf(blob),
    comment: parts.slice(2).join(' ').slice(0, 128),
    canonical: `${type} ${blob.toString('base64')}`,
    bits,
  };
}

function invalid(reason: ErrorReason, message: string, params: Record<string, unknown> = {}): ValidationError {
  return new ValidationError(message, { field: 'publicKey', reason, ...params });
}
