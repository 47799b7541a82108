// The RecordingStore contract: one suite, run against the local directory and against a real
// S3 server (s3rver on a loopback port over a temp directory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadConfig } from '../core/config.ts';

test('config: BASTION_RECORDINGS_URL picks the directory (default) or an S3 bucket with its variables', () => {
  const d = loadConfig({ BASTION_DATA_DIR: '/srv/b' }).recordings;
  assert.deepEqual(d, { kind: 'directory', dir: path.resolve('/srv/b/recordings') });
  assert.deepEqual(loadConfig({ BASTION_RECORDINGS_URL: 'file:///mnt/rec' }).recordings, { kind: 'directory', dir: '/mnt/rec' });
  const s = loadConfig({
    BASTION_RECORDINGS_URL: 's3://bastion-rec/prod/eu/', BASTION_S3_ENDPOINT: 'http://127.0.0.1:9000', BASTION_S3_FORCE_PATH_STYLE: 'true',
    BASTION_S3_ACCESS_KEY_ID: 'AK', BASTION_S3_SECRET_ACCESS_KEY: 'SK', BASTION_S3_SSE: 'AES256',
  }).recordings;
  assert.equal(s.kind, 's3');
  if (s.kind !== 's3') return;
  assert.equal(s.bucket, 'bastion-rec');
  assert.equal(s.prefix, 'prod/eu');
  assert.equal(s.endpoint, 'http://127.0.0.1:9000');
  assert.equal(s.region, 'us-east-1');
  assert.equal(s.forcePathStyle, true);
  assert.equal(s.sse, 'AES256');
  assert.equal(s.credentials?.accessKeyId, 'AK');
  assert.equal(String(s.credentials?.secretAccessKey), '<secret>');
  assert.equal(s.partBytes, 8 * 1024 * 1024);
  assert.throws(() => loadConfig({ BASTION_RECORDINGS_URL: 'ftp://x/y' }), /BASTION_RECORDINGS_URL/);
  assert.throws(() => loadConfig({ BASTION_RECORDINGS_URL: 's3://B_ad/x' }), /BASTION_RECORDINGS_URL/);
  assert.throws(() => loadConfig({ BASTION_RECORDINGS_URL: 's3://bucket/a/../b' }), /BASTION_RECORDINGS_URL/);
  assert.throws(() => loadConfig({ BASTION_RECORDINGS_URL: 's3://bucket', BASTION_S3_ACCESS_KEY_ID: 'AK' }), /BASTION_S3_ACCESS_KEY_ID/);
  assert.throws(() => loadConfig({ BASTION_S3_PART_MB: '4' }), /BASTION_S3_PART_MB/);
});
