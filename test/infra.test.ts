// The test helpers themselves: a real sshd answers real OpenSSH clients and
// ssh2, and a throwaway PostgreSQL answers `pg`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import pg from 'pg';
import { Client as SshClient } from 'ssh2';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PORT_CLAIMS, claimPort, freePort } from './helpers/ports.ts';
import { cleanup } from './helpers/tmp.ts';
import { startSshd, sshdUnavailable, type Sshd } from './helpers/sshd.ts';
import { startPostgres } from './helpers/postgres.ts';

const started: Array<{ stop(): Promise<void> }> = [];
after(async () => {
  await Promise.all(started.map((s) => s.stop()));
  await cleanup();
});

const quietSsh = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'];

function sshWithKey(sshd: Sshd, command: string) {
  return execa('ssh', [
    ...quietSsh,
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    '-i', sshd.privateKeyPath,
    '-p', String(sshd.port),
    `${sshd.username}@${sshd.host}`,
    command,
  ], { timeout: 15_000 });
}

function sshWithPassword(sshd: Sshd, password: string, command: string) {
  return execa('sshpass', [
    '-p', password,
    'ssh', ...quietSsh,
    '-o', 'PubkeyAuthentication=no',
    '-o', 'PreferredAuthentications=password',
    '-o', 'NumberOfPasswordPrompts=1',
    '-p', String(sshd.port),
    `${sshd.username}@${sshd.host}`,
    command,
  ], { timeout: 15_000, reject: false });
}

async function scannedFingerprint(sshd: Sshd): Promise<string> {
  const scan = await execa('ssh-keyscan', ['-t', 'ed25519', '-p', String(sshd.port), sshd.host]);
  const { stdout } = await execa('ssh-keygen', ['-l', '-f', '-'], { input: scan.stdout });
  return stdout.split(/\s+/)[1] ?? '';
}

test('freePort returns a loopback port that can be bound', async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
});

test('freePort: ports below the ephemeral range, claimed across test processes until each exits', async () => {
  const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  const mine = await Promise.all(Array.from({ length: 20 }, () => freePort()));
  assert.equal(new Set(mine).size, 20, 'never the same port twice');
  for (const port of mine) {
    assert.ok(port >= 10_000 && port < ephemeralLow, `${port} is outside [10000, ${ephemeralLow})`);
    assert.equal(readFileSync(join(PORT_CLAIMS, String(port)), 'utf8'), String(process.pid), `the claim of ${port} names this process`);
  }
  // Two other test processes at once, 150 ports each, each holding them until told to exit (a
  // port is free again once its process has exited), while this one holds its 20.
  const script = "import { freePort } from './test/helpers/ports.ts'; const p = []; for (let i = 0; i < 150; i++) p.push(await freePort()); console.log(JSON.stringify(p)); process.stdin.resume(); process.stdin.on('end', () => process.exit(0));";
  const children = [1, 2].map(() => execa('node', ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 60_000, stdin: 'pipe' }));
  const lists = await Promise.all(children.map((c) => new Promise<number[]>((resolve, reject) => {
    let out = '';
    c.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(JSON.parse(out) as number[]);
    });
    c.catch(reject);
  })));
  const [a, b] = lists as [number[], number[]];
  assert.equal(new Set([...a, ...b, ...mine]).size, 320, 'no port given to two processes');
  for (const c of children) c.stdin!.end();
  await Promise.all(children);
  // Their claims went with them.
  for (const port of [...a, ...b]) assert.equal(existsSync(join(PORT_CLAIMS, String(port))), false, `the claim of ${port} was released at exit`);
  const dead = await execa('node', ['-e', 'console.log(process.pid)']);
  const claims = new Set(readdirSync(PORT_CLAIMS));
  const spare = [...Array(2000).keys()].map((i) => 10_000 + i).filter((p) => !claims.has(String(p)) && !mine.includes(p)).slice(0, 2);
  const [orphan, held] = spare as [number, number];
  writeFileSync(join(PORT_CLAIMS, String(orphan)), dead.stdout.trim());
  assert.equal(claimPort(orphan), true, 'a dead process\'s claim is taken over');
  assert.equal(readFileSync(join(PORT_CLAIMS, String(orphan)), 'utf8'), String(process.pid));
  const sleeper = execa('sleep', ['30']);
  try {
    writeFileSync(join(PORT_CLAIMS, String(held)), String(sleeper.pid));
    assert.equal(claimPort(held), false, 'a live process\'s claim is not');
    assert.equal(readFileSync(join(PORT_CLAIMS, String(held)), 'utf8'), String(sleeper.pid));
  } finally {
    sleeper.kill();
    await sleeper.catch(() => undefined);
    rmSync(join(PORT_CLAIMS, String(held)), { force: true });
  }
});

test('a real sshd backend accepts the test key and the test password', async (t) => {
  const reason = sshdUnavailable();
  if (reason) return t.skip(reason);
  const sshd = await startSshd();
  started.push(sshd);

  assert.equal(sshd.host, '127.0.0.1');
  assert.match(sshd.privateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----/);
  assert.match(sshd.publicKey, /^ssh-ed25519 /);
  assert.match(sshd.hostPublicKey, /^ssh-ed25519 \S+$/);
  assert.match(sshd.hostKeyFingerprint, /^SHA256:/);
  assert.equal(await scannedFingerprint(sshd), sshd.hostKeyFingerprint);

  const byKey = await sshWithKey(sshd, 'id -un');
  assert.equal(byKey.stdout.trim(), sshd.username);

  const byPassword = await sshWithPassword(sshd, sshd.password, 'id -un');
  assert.equal(byPassword.exitCode, 0, byPassword.stderr);
  assert.equal(byPassword.stdout.trim(), sshd.username);

  const wrongPassword = await sshWithPassword(sshd, 'not-the-password', 'id -un');
  assert.notEqual(wrongPassword.exitCode, 0);

  assert.match(sshd.log(), /Accepted publickey for bastiont/);
  assert.match(sshd.log(), /Accepted password for bastiont/);
});

test('an ssh2 client logs in with the PEM private key and pins the host key', async (t) => {
  const reason = sshdUnavailable();
  if (reason) return t.skip(reason);
  const sshd = await startSshd();
  started.push(sshd);
  const expectedHostKey = Buffer.from(sshd.hostPublicKey.split(' ')[1] ?? '', 'base64');

  const output = await new Promise<string>((resolve, reject) => {
    const client = new SshClient();
    client
      .on('ready', () => {
        client.exec('echo "$BASTION_PROBE"; id -un', { env: { BASTION_PROBE: 'passed-through' } }, (err, stream) => {
          if (err) return reject(err);
          let out = '';
          stream.on('data', (d: Buffer) => (out += d.toString()));
          stream.on('close', () => {
            client.end();
            resolve(out);
          });
        });
      })
      .on('error', reject)
      .connect({
        host: sshd.host,
        port: sshd.port,
        username: sshd.username,
        privateKey: sshd.privateKey,
        hostVerifier: (key: Buffer) => key.equals(expectedHostKey),
        readyTimeout: 10_000,
      });
  });
  // The backend accepts BASTION_* on purpose, so gateway tests can prove it strips env.
  assert.deepEqual(output.trim().split('\n'), ['passed-through', sshd.username]);
});

test('several sshd instances run at once and a host key can change', async (t) => {
  const reason = sshdUnavailable();
  if (reason) return t.skip(reason);
  const [a, b] = await Promise.all([startSshd(), startSshd()]);
  started.push(a, b);
  assert.notEqual(a.port, b.port);
  assert.notEqual(a.hostKeyFingerprint, b.hostKeyFingerprint);

  const sameKey = await startSshd({ hostKeyPath: a.hostKeyPath });
  started.push(sameKey);
  assert.equal(sameKey.hostKeyFingerprint, a.hostKeyFingerprint);

  const before = b.hostKeyFingerprint;
  const port = b.port;
  await b.restartWithNewHostKey();
  assert.equal(b.port, port);
  assert.notEqual(b.hostKeyFingerprint, before);
  assert.equal(await scannedFingerprint(b), b.hostKeyFingerprint);
  assert.equal((await sshWithKey(b, 'id -un')).stdout.trim(), b.username);

  await a.stop();
  await a.stop(); // idempotent
  assert.equal((await sshWithKey(sameKey, 'echo ok')).stdout.trim(), 'ok');
});

test('a throwaway PostgreSQL answers select 1', async (t) => {
  const server = await startPostgres();
  if ('skip' in server) return t.skip(server.skip);
  started.push(server);
  assert.match(server.url, /^postgres:\/\/bastion:[^@]+@127\.0\.0\.1:\d+\/bastion_test$/);

  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ one: number }>('select 1 as one');
    assert.deepEqual(rows, [{ one: 1 }]);
  } finally {
    await client.end();
  }
});
