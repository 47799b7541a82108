#!/usr/bin/env -S node --no-warnings
// The `mc` commands compose.scale.yaml runs, against any S3 endpoint:
//   mc alias set NAME URL ACCESS_KEY SECRET_KEY   (kept in ~/.mc/config.json, as mc does)
//   mc mb [--ignore-existing|-p] NAME/BUCKET
//   mc ready NAME                                 (exit 0 once the endpoint answers HTTP)
// "local" is http://localhost:9000 until set otherwise, as in mc.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';

const configFile = join(homedir(), '.mc', 'config.json');
const readConfig = () => {
  try { return JSON.parse(readFileSync(configFile, 'utf8')); } catch { return { version: '10', aliases: {} }; }
};
const alias = (name) => readConfig().aliases[name] ?? (name === 'local' ? { url: 'http://localhost:9000' } : undefined);
const fail = (message) => { console.error(`mc: ${message}`); process.exit(1); };

const [command, ...args] = process.argv.slice(2);
if (command === 'alias' && args[0] === 'set' && args.length === 5) {
  const [, name, url, accessKey, secretKey] = args;
  const config = readConfig();
  config.aliases[name] = { url, accessKey, secretKey, api: 's3v4', path: 'auto' };
  mkdirSync(join(homedir(), '.mc'), { recursive: true, mode: 0o700 });
  writeFileSync(configFile, JSON.stringify(config, null, 2), { mode: 0o600 });
  console.log(`Added \`${name}\` successfully.`);
} else if (command === 'mb') {
  const ignoreExisting = args.some((a) => a === '--ignore-existing' || a === '-p');
  const target = args.find((a) => !a.startsWith('-'));
  const [name, bucket] = target?.split('/') ?? [];
  const a = alias(name);
  if (!a?.accessKey || !bucket) fail(`no alias with credentials for ${target}`);
  const s3 = new S3Client({ endpoint: a.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: a.accessKey, secretAccessKey: a.secretKey } });
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    if (!ignoreExisting) fail(`bucket ${bucket} already exists`);
    console.log(`Bucket created successfully \`${target}\`.`);
  } catch (err) {
    const missing = err?.$metadata?.httpStatusCode === 404 || err?.name === 'NotFound' || err?.name === 'NoSuchBucket';
    if (!missing) fail(`${target}: ${err?.name ?? err}`);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (createErr) {
      fail(`${target}: ${createErr?.name ?? createErr}`);
    }
    console.log(`Bucket created successfully \`${target}\`.`);
  }
} else if (command === 'ready' && args.length === 1) {
  const a = alias(args[0]);
  if (!a) fail(`no alias ${args[0]}`);
  try {
    await fetch(a.url, { signal: AbortSignal.timeout(2000) });
  } catch (err) {
    fail(`${a.url} is not ready: ${err?.cause?.code ?? err}`);
  }
  console.log(`The cluster '${args[0]}' is ready`);
} else {
  fail('only `alias set`, `mb` and `ready` are supported by this stand-in');
}
