// The gateway's own host keys: generated once into the data dir, reused on every start,
// so operators' known_hosts entries stay valid across restarts and upgrades.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { fingerprintOf } from '../core/identity/sshKeys.ts';

export interface HostKey {
  type: string;
  path: string;
  /** The private key file's text (OpenSSH or PEM format), as ssh2 wants it. */
  privateKey: string;
  fingerprint: string;
}

/** Loads `ssh_host_ed25519_key` and `ssh_host_rsa_key` from the data dir, creating them (0600) when missing. */
export function loadHostKeys(dataDir: string): HostKey[] {
  mkdirSync(dataDir, { recursive: true });
  return [
    loadOrCreate(join(dataDir, 'ssh_host_ed25519_key'), generateEd25519),
    loadOrCreate(join(dataDir, 'ssh_host_rsa_key'), generateRsa3072),
  ];
}

function loadOrCreate(path: string, generate: () => string): HostKey {
  if (!existsSync(path)) {
    writeFileSync(path, generate(), { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
  }
  const privateKey = readFileSync(path, 'utf8');
  const parsed = ssh2.utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error || !key.isPrivateKey()) throw new Error(`${path} is not a usable unencrypted private key`);
  const blob = key.getPublicSSH();
  if (!existsSync(`${path}.pub`)) writeFileSync(`${path}.pub`, `${key.type} ${blob.toString('base64')} bastion\n`, { mode: 0o644 });
  return { type: key.type, path, privateKey, fingerprint: fingerprintOf(blob) };
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
