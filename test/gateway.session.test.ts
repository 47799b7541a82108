// Direct targets (`alice@web01@bastion 'cmd'`), what passes through a channel and what is
// refused (rule 3), tunnels, backend host keys (rule 10) and a backend that is down.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { CommandEntity, SessionEntity, type Session, type User } from '../core/db/entities/index.ts';
import { sshdUnavailable, startSshd, type Sshd } from './helpers/sshd.ts';
import { freePort } from './helpers/ports.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { ALICE_PASSWORD, QUIET, eventually, gatewayTopology, ssh2Exec, ssh2Login, sshKey, sshPassword, startWorld, type World } from './gatewayFixture.ts';
import type { RelaySocketKind } from '../gateway/relaySocket.ts';

const skip = sshdUnavailable();
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('SSH gateway: direct targets and channels', { skip }, () => {
  let w: World;
  let seq = 0;
  const s = () => w.bastion.services;
  /** Runs `ssh <login>@bastion <command>` as alice: raw stdout bytes, stderr text. */
  async function alice(command: string, args: string[] = [], login = 'alice@web01', input?: Buffer): Promise<{ exitCode: number | undefined; stdout: Buffer; stderr: string }> {
    const r = await sshPassword(w.gw.port, login, ALICE_PASSWORD, [...args, command], { encoding: 'buffer', stripFinalNewline: false, ...(input ? { input } : {}) });
    return { exitCode: r.exitCode, stdout: Buffer.from(r.stdout as Uint8Array), stderr: Buffer.from(r.stderr as Uint8Array).toString() };
  }

  async function sessionsOf(userId: string): Promise<Session[]> {
    return s().ds.getRepository(SessionEntity).find({ where: { userId }, order: { startedAt: 'ASC' } });
  }
  /** The user's sessions once none is active any more (rows are closed just after the client exits). */
  async function settledSessions(userId: string, count: number): Promise<Session[]> {
    return eventually(() => sessionsOf(userId), (rows) => rows.length >= count && rows.every((r) => r.status !== 'active'));
  }

  async function userWithKey(actions: Array<'connect' | 'tunnel'>, assets = [w.web01.id]): Promise<{ user: User; keyPath: string }> {
    const user = await w.f.user({ username: `chan${++seq}`, password: `Chan-pass-${seq}-xyz` });
    await w.f.permission({ users: [user.id], assets, systemUsers: [w.su.id], actions });
    const dir = makeTempDir('bastion-gw-key-');
    const keyPath = join(dir, 'id_ed25519');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyPath]);
    await s().userKeys.add(SYSTEM_ACTOR, user.id, { publicKey: readFileSync(`${keyPath}.pub`, 'utf8') });
    return { user, keyPath };
  }

  /** The sockets the in-process gateway put under its read turns, by kind (relaySocket.ts); workers' are out of sight. */
  const relayed: RelaySocketKind[] = [];
  const inProcess = gatewayTopology() === 'in-process';
  before(async () => {
    w = await startWorld(inProcess ? { gateway: { onRelaySocket: (kind) => relayed.push(kind) } } : {});
  });
  after(async () => {
    await w?.stop();
    await cleanup();
  });

  test('exec passes stdout, stderr and the exit status back, and is audited', async () => {
    const r = await alice('echo out; echo err >&2; exit 3');
    assert.equal(r.exitCode, 3);
    assert.equal(r.stdout.toString(), 'out\n');
    assert.equal(r.stderr.toString(), 'err\n');
    const [row] = await settledSessions(w.alice.id, 1);
    assert.equal(row!.kind, 'exec');
    assert.equal(row!.status, 'closed');
    assert.equal(row!.exitStatus, 3);
    assert.equal(row!.assetName, 'web01');
    assert.equal(row!.systemUsername, w.sshd.username);
    assert.equal(row!.clientAddress, '127.0.0.1');
    assert.equal(row!.bytesOut, 8);
    assert.ok(row!.recording, 'exec sessions are recorded');
    const commands = await eventually(() => s().ds.getRepository(CommandEntity).findBy({ sessionId: row!.id }), (c) => c.length > 0);
    assert.equal(commands[0]!.input, 'echo out; echo err >&2; exit 3');
  });

  test('exec output is byte-exact: 1 MB of random bytes arrive unchanged', async () => {
    const file = `/tmp/bastion-gw-${process.pid}.bin`;
    const r = await alice(`head -c 1000000 /dev/urandom | tee ${file}`);
    assert.equal(r.exitCode, 0, r.stderr.toString());
    assert.equal(r.stdout.length, 1_000_000);
    const remote = await alice(`sha256sum ${file} && rm -f ${file}`);
    assert.equal(remote.stdout.toString().split(' ')[0], sha256(r.stdout));
    const rows = await settledSessions(w.alice.id, 3);
    const big = rows.find((x) => x.bytesOut === 1_000_000);
    assert.ok(big, `a session counted the megabyte: ${rows.map((x) => x.bytesOut).join(',')}`);
  });

  test('exec input is byte-exact: stdin reaches the command and EOF ends it', async () => {
    const data = randomBytes(300_000);
    const r = await alice('sha256sum', [], 'alice@web01', data);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout.toString().split(' ')[0], sha256(data));
  });

  test('an exit signal is passed back', async () => {
    const client = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
    try {
      const r = await ssh2Exec(client, 'kill -TERM $$');
      assert.equal(r.signal, 'SIGTERM');
      assert.equal(r.code, null);
    } finally {
      client.end();
    }
  });

  test('a target that is not granted prints one line on stderr and exits 255 like an unreachable host (same words whether it exists or not)', async () => {
    const hidden = await w.f.asset({ name: 'secret01', address: '127.0.0.1', port: w.sshd.port });
    for (const name of ['nosuch', hidden.name]) {
      const r = await alice('id', [], `alice@${name}`);
      assert.equal(r.exitCode, 255);
      assert.equal(r.stdout.toString(), '');
      assert.equal(r.stderr.toString(), `no asset named '${name}' is granted to you\n`);
    }
  });

  test('alice@app@web01 picks the system user by name; an unknown one reads as not granted', async () => {
    const ok = await alice('id -un', [], 'alice@app@web01');
    assert.equal(ok.exitCode, 0, ok.stderr.toString());
    assert.equal(ok.stdout.toString().trim(), w.sshd.username);
    const bad = await alice('id -un', [], 'alice@root@web01');
    assert.equal(bad.exitCode, 255);
    assert.equal(bad.stderr.toString(), `system user 'root' is not granted to you on web01; yours there: ${w.sshd.username}\n`);
  });

  test('the asset can be named by its address', async () => {
    const r = await alice('echo by-address', [], 'alice@127.0.0.1');
    assert.equal(r.exitCode, 0, r.stderr.toString());
    assert.equal(r.stdout.toString(), 'by-address\n');
  });

  test('exec without a target says how to name one', async () => {
    const r = await alice('uptime', [], 'alice');
    assert.equal(r.exitCode, 255);
    assert.match(r.stderr.toString(), /name the asset to run a command on/);
  });

  test('rule 3: only TERM, LANG and LC_* reach the backend (SetEnv LD_PRELOAD does not)', async () => {
    // The helper sshd AcceptEnv's LD_PRELOAD and BASTION_* on purpose: only the gateway stands in the way.
    const r = await alice('echo "[$LD_PRELOAD][$LANG][$LC_TIME][$BASTION_X]"', [
      '-o', 'SetEnv=LD_PRELOAD=/tmp/evil.so LANG=C.UTF-8 LC_TIME=POSIX BASTION_X=1',
    ]);
    assert.equal(r.exitCode, 0, r.stderr.toString());
    assert.equal(r.stdout.toString(), '[][C.UTF-8][POSIX][]\n');
    assert.doesNotMatch(w.sshd.log(), /LD_PRELOAD/);
  });

  test('rule 3: a subsystem other than sftp is refused with a clear message', async () => {
    const client = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
    try {
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => client.subsys('netconf', (err, stream) => {
        if (err) return reject(err);
        let stderr = '';
        let code: number | null = null;
        stream.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        stream.on('exit', (c: number | null) => (code = c));
        stream.on('close', () => resolve({ code, stderr }));
        stream.resume();
      }));
      assert.equal(r.code, 1);
      assert.match(r.stderr, /the subsystem 'netconf' is not available/);
    } finally {
      client.end();
    }
  });

  test('rule 3: legacy scp (exec "scp -t") needs the upload action', async () => {
    const r = await alice('scp -t /tmp/');
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr.toString(), /upload is not allowed/);
  });

  test('rule 3: x11 and agent forwarding requests are refused', async () => {
    const plain = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
    const withAgent = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD, agent: '/nonexistent/agent.sock', agentForward: true });
    try {
      await assert.rejects(ssh2Exec(plain, 'true', { x11: true }), /X11/);
      await assert.rejects(ssh2Exec(withAgent, 'true'), /agent forwarding/);
    } finally {
      plain.end();
      withAgent.end();
    }
  });

  test('rule 3: remote port forwarding (tcpip-forward) is refused', async () => {
    const client = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
    try {
      const err = await new Promise<Error | undefined>((resolve) => client.forwardIn('127.0.0.1', 0, (e) => resolve(e)));
      assert.ok(err, 'forwardIn must fail');
    } finally {
      client.end();
    }
  });

  test('direct-tcpip (ssh -W) without the tunnel action is refused', async () => {
    const client = await ssh2Login(w.gw.port, { username: 'alice', password: ALICE_PASSWORD });
    try {
      for (const host of ['web01', '127.0.0.1']) {
        const err = await new Promise<Error | undefined>((resolve) => client.forwardOut('127.0.0.1', 0, host, w.sshd.port, (e, ch) => {
          ch?.close();
          resolve(e);
        }));
        assert.ok(err, `${host} must be refused`);
      }
    } finally {
      client.end();
    }
  });

  test('ssh -J through the gateway reaches the asset with the tunnel action, audited with bytes both ways', async () => {
    const { user, keyPath } = await userWithKey(['tunnel']);
    const proxy = `ssh ${QUIET.join(' ')} -o BatchMode=yes -o IdentitiesOnly=yes -i ${keyPath} -p ${w.gw.port} -W %h:%p ${user.username}@127.0.0.1`;
    const r = await execa('ssh', [
      ...QUIET, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', w.sshd.privateKeyPath,
      '-o', `ProxyCommand=${proxy}`, '-p', String(w.sshd.port), `${w.sshd.username}@web01`, 'id -un',
    ], { reject: false, timeout: 30_000 });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout.trim(), w.sshd.username);
    // The tunnel's socket to the asset takes turns with every other socket's reads (issue 13 item 8).
    if (inProcess) assert.ok(relayed.includes('tunnel'), `sockets relayed: ${relayed.join(', ')}`);
    const [row] = await settledSessions(user.id, 1);
    assert.equal(row!.kind, 'tunnel');
    assert.equal(row!.status, 'closed');
    assert.ok(row!.bytesIn > 0 && row!.bytesOut > 0, `bytes ${row!.bytesIn}/${row!.bytesOut}`);
    // The tunnel action alone does not open shells.
    const shell = await sshKey(w.gw.port, `${user.username}@web01`, keyPath, ['true']);
    assert.equal(shell.exitCode, 255);
    assert.equal(String(shell.stderr).trim(), 'connect is not allowed to you on web01 (your permissions there allow: tunnel)');
  });

  test('a tunnel goes only to the asset\'s own SSH port', async () => {
    const { user, keyPath } = await userWithKey(['connect', 'tunnel']);
    // LogLevel INFO: OpenSSH prints the open failure's reason at that level.
    const r = await execa('ssh', ['-o', 'LogLevel=INFO', ...QUIET, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', keyPath, '-p', String(w.gw.port),
      '-W', `web01:${w.sshd.port + 1}`, `${user.username}@127.0.0.1`], { reject: false, timeout: 30_000 });
    assert.equal(r.exitCode, 255);
    // The refusal says why (it was "open failed: connect failed: " with nothing after it).
    assert.match(String(r.stderr), new RegExp(`open failed: administratively prohibited: \\[bastion\\] no asset granted to you with the tunnel action listens at web01:${w.sshd.port + 1}`));
  });

  describe('backends', () => {
    let other: Sshd;
    before(async () => {
      other = await startSshd();
    });
    after(async () => {
      await other?.stop();
    });

    test('rule 10: a backend whose host key changed is refused with a clear message, until an admin clears the pin', async () => {
      const web02 = await w.f.asset({ name: 'web02', address: other.host, port: other.port });
      await w.f.permission({ users: [w.alice.id], assets: [web02.id], systemUsers: [w.su.id] });
      const first = await alice('echo pinned', [], 'alice@web02');
      assert.equal(first.exitCode, 0, first.stderr.toString());
      const pin = await s().hostKeys.get(web02.id);
      assert.equal(pin?.fingerprint, other.hostKeyFingerprint);

      await other.restartWithNewHostKey();
      const refused = await alice('echo should-not-run', [], 'alice@web02');
      assert.equal(refused.exitCode, 255);
      assert.equal(refused.stdout.toString(), '');
      assert.match(refused.stderr.toString(), /^the host key of web02 has changed \(pinned SHA256:\S+, offered SHA256:\S+\); refusing to connect/);
      assert.ok(refused.stderr.toString().includes(other.hostKeyFingerprint));

      await s().hostKeys.clear(SYSTEM_ACTOR, web02.id);
      const again = await alice('echo re-pinned', [], 'alice@web02');
      assert.equal(again.stdout.toString(), 're-pinned\n');
    });

    test('a backend that is down gives one clear line at once, and a failed session row', async () => {
      const port = await freePort();
      const down = await w.f.asset({ name: 'down01', address: '127.0.0.1', port });
      const user = await w.f.user({ username: `down${++seq}`, password: 'Down-pass-123-xyz' });
      await w.f.permission({ users: [user.id], assets: [down.id], systemUsers: [w.su.id] });
      const r = await sshPassword(w.gw.port, `${user.username}@down01`, 'Down-pass-123-xyz', ['true'], { timeout: 15_000, stripFinalNewline: false });
      assert.equal(r.exitCode, 255);
      assert.equal(String(r.stderr), `cannot connect to down01 (127.0.0.1:${port}): connection refused\n`);
      const [row] = await settledSessions(user.id, 1);
      assert.equal(row!.status, 'failed');
      assert.match(row!.endReason ?? '', /connection refused/);
    });

    test('a system user whose credentials the backend refuses gives one clear line', async () => {
      const wrong = await w.f.systemUser({ name: 'wrongpw', username: other.username, password: 'not-the-right-one' });
      const user = await w.f.user({ username: `wrongpw${++seq}`, password: 'Wrong-pass-123-xyz' });
      await w.f.permission({ users: [user.id], assets: [w.web01.id], systemUsers: [wrong.id] });
      const r = await sshPassword(w.gw.port, `${user.username}@web01`, 'Wrong-pass-123-xyz', ['true'], { stripFinalNewline: false });
      assert.equal(r.exitCode, 255);
      assert.equal(String(r.stderr), `${other.username} could not log in to web01: the server refused the credentials\n`);
    });
  });
});
