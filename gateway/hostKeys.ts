// The gateway's own host keys: generated once into the data dir, reused on every start,
// so operators' known_hosts entries stay valid across restarts and upgrades.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';
import { fingerprintOf } from '../core/identity/sshKeys.ts';
import { readOrCreateOnce } from '../core/dataDir.ts';

export interface HostKey {
  type: string;
  path: string;
  /** The private key file's text (OpenSSH or PEM format), as ssh2 wants it. */
  privateKey: string;
  fingerprint: string;
}

/**
 * Loads `ssh_host_ed25519_key` and `ssh_host_rsa_key` from the data dir, creating them (0600)
 * when missing; gateways starting together on a fresh data dir all use the first one's keys.
 */
export function loadHostKeys(dataDir: string): HostKey[] {
  return [
    loadOrCreate(join(dataDir, 'ssh_host_ed25519_key'), generateEd25519),
    loadOrCreate(join(dataDir, 'ssh_host_rsa_key'), generateRsa3072),
  ];
}

function loadOrCreate(path: string, generate: () => string): HostKey {
  const privateKey = readOrCreateOnce(path, generate);
  const parsed = ssh2.utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error || !key.isPrivateKey()) throw new Error(`${path} is not a usable unencrypted private key`);
  const blob = key.getPublicSSH();
  readOrCreateOnce(`${path}.pub`, () => `${key.type} ${blob.toString('base64')} bastion\n`);
  return { type: key.type, path, privateKey, fingerprint: fingerprintOf(blob) };
}

/**
 * The keys as ssh2's Server takes them. ssh2 always appends `ssh-rsa` (SHA-1 signatures)
 * to the offer when it gets an RSA key, whatever `algorithms.serverHostKey` says. Handing
 * it the RSA key twice, typed as `rsa-sha2-512` and `rsa-sha2-256`, makes it offer exactly
 * those two: it signs with the hash the negotiated name implies and the key blob stays
 * `ssh-rsa`, as RFC 8332 wants.
 */
export function serverHostKeys(keys: HostKey[]): ParsedKey[] {
  const out: ParsedKey[] = [];
  for (const k of keys) {
    const parsed = ssh2.utils.parseKey(k.privateKey);
    const key = (Array.isArray(parsed) ? parsed[0] : parsed) as ParsedKey;
    if (key.type !== 'ssh-rsa') {
      out.push(key);
      continue;
    }
    for (const type of ['rsa-sha2-512', 'rsa-sha2-256']) out.push(Object.create(key, { type: { value: type } }) as ParsedKey);
  }
  return out;
}

function generateRsa3072(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 3072, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  return privateKey;
}

/** ssh2 does not read PKCS#8 ed25519 keys, so the key is written in OpenSSH's own format. */
function generateEd25519(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  const pub = Buffer.from(jwk.x!, 'base64url');
  const type = Buffer.from('ssh-ed25519');
  const publicBlob = concatStrings(type, pub);
  const check = randomBytes(4);
  let priv = Buffer.concat([check, check, concatStrings(type, pub, Buffer.concat([seed, pub]), Buffer.from('bastion'))]);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    concatStrings(Buffer.from('none'), Buffer.from('none'), Buffer.alloc(0)),
    u32(1),
    concatStrings(publicBlob, priv),
  ]);
  const b64 = body.toString('base64').replace(/.{1,70}/g, '$&\n');
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}-----END OPENSSH PRIVATE KEY-----\n`;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** SSH wire `string`s, one after another. */
function concatStrings(...parts: Buffer[]): Buffer {
  return Buffer.concat(parts.flatMap((p) => [u32(p.length), p]));
}
