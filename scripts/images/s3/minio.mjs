#!/usr/bin/env node
// `minio server DIR [--address [HOST]:PORT]` on s3rver: buckets are directories under DIR, the
// one key pair is MINIO_ROOT_USER / MINIO_ROOT_PASSWORD (MinIO's defaults when unset), and
// s3rver's built-in S3RVER key is revoked. s3rver refuses unknown access keys but does not verify
// SigV4 signatures: a stand-in for tests, not a store to trust.
import S3rver from 's3rver';
import AWSAccount from 's3rver/lib/models/account.js';

const [command, directory, ...rest] = process.argv.slice(2);
if (command !== 'server' || !directory) {
  console.error('usage: minio server DIR [--address [HOST]:PORT]');
  process.exit(2);
}
let address = '0.0.0.0';
let port = 9000;
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === '--address' && rest[i + 1]) {
    const [host, p] = rest[++i].split(/:(?=\d+$)/);
    if (host) address = host;
    port = Number(p);
  } else if (rest[i] === '--console-address') {
    i++; // No console here.
  }
}
const user = process.env.MINIO_ROOT_USER || 'minioadmin';
const password = process.env.MINIO_ROOT_PASSWORD || 'minioadmin';
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
AWSAccount.DUMMY_ACCOUNT.createKeyPair(user, password);

// Path-style only, as MinIO without MINIO_DOMAIN: s3rver would otherwise take a host name such as
// `minio` (the compose service) for a bucket name.
const server = new S3rver({ address, port, directory, silent: true, vhostBuckets: false });
const where = await server.run();
console.log(`S3 API: http://${where.address}:${where.port} (s3rver over ${directory})`);
const stop = async () => {
  server.httpServer?.closeAllConnections();
  await server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
