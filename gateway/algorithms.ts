// Modern algorithms only: no SHA-1 anywhere, no CBC, no group1/group14-sha1 (issue 4, item 1).
import type { Algorithms } from 'ssh2';

/** What the gateway offers to operators' clients. */
export const SERVER_ALGORITHMS: Algorithms = {
  kex: [
    'curve25519-sha256',
    'curve25519-sha256@libssh.org',
    'ecdh-sha2-nistp256',
    'ecdh-sha2-nistp384',
    'ecdh-sha2-nistp521',
    'diffie-hellman-group16-sha512',
    'diffie-hellman-group18-sha512',
  ],
  serverHostKey: ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256'],
  cipher: [
    'aes128-gcm@openssh.com',
    'aes256-gcm@openssh.com',
    'chacha20-poly1305@openssh.com',
    'aes128-ctr',
    'aes192-ctr',
    'aes256-ctr',
  ],
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com'],
  compress: ['none'],
};

/**
 * What the gateway accepts from backends. Same rules, a little wider on MACs (non-ETM SHA-2)
 * and host keys (ECDSA) because older servers still offer only those.
 */
export const BACKEND_ALGORITHMS: Algorithms = {
  kex: [...(SERVER_ALGORITHMS.kex as string[]), 'diffie-hellman-group-exchange-sha256', 'diffie-hellman-group14-sha256'] as Algorithms['kex'],
  serverHostKey: ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256'],
  cipher: SERVER_ALGORITHMS.cipher,
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'],
  compress: ['none'],
};
