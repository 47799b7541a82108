import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { makeTempDir } from './tmp.ts';

/** A real key pair from ssh-keygen, in OpenSSH formats, as an operator would have. */
export function keygen(type: 'ed25519' | 'rsa' | 'ecdsa' = 'ed25519', bits?: number, comment = 'test@bastion'): { privateKey: string; publicKey: string; privatePath: string; publicPath: string } {
  const dir = makeTempDir('bastion-key-');
  const file = path.join(dir, `id_${type}`);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-C', comment, '-f', file], { stdio: 'ignore' });
  return { privateKey: readFileSync(file, 'utf8'), publicKey: readFileSync(file + '.pub', 'utf8').trim(), privatePath: file, publicPath: file + '.pub' };
}
