// An attacker's read of the operators' file-transfer paths (issue 13): each test is a way to
// move or change files on an asset without the `upload` / `download` action it needs, tried
// with the real clients (rsync, ssh2's SFTP client) against a real sshd. Every one of them
// worked before its fix.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { SFTPWrapper } from 'ssh2';
import { FileTransferEntity, SessionEntity, type Action, type FileTransfer, type User } from '../core/db/entities/index.ts';
import { parseRsyncServer } from '../gateway/proxy/rsyncProtocol.ts';
import { hiddenTransferServer } from '../gateway/proxy/hiddenTransfers.ts';
import { withRsyncLog } from '../gateway/proxy/rsyncLog.ts';
import { OPEN_FLAGS } from '../gateway/sftp/backendSftp.ts';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { hostKeyFingerprints, opensshScp, opensshSftp, rsync, type Endpoint } from './helpers/clients.ts';
import { ALICE_PASSWORD, eventually, gatewayTopology, ssh2Login, startWorld, type World } from './gatewayFixture.ts';
import { recordingFile } from './helpers/recordings.ts';

const skip = sshdUnavailable();
/**
 * gateway.transferBypass.workers.test.ts runs this file again with the gateway in worker
 * processes: there the tests needing no sshd are not defined (they involve no gateway at all).
 */
const describeInProcess = gatewayTopology() === 'workers' ? ((() => undefined) as unknown as typeof describe) : describe;

describeInProcess('rsync --server read as the asset\'s rsync reads it (no sshd needed)', () => {
  test('an option\'s value in the next word is not an option: `--suffix --sender` is a receiver (an upload)', () => {
    // popt gives a value-taking option the next word whatever it is; the real client sends these with -M.
    for (const options of ['--suffix --sender', '-T --sender', '-e --sender', '-vT --sender', '--partial-dir --sender', '--log-file-format --sender', '-B --sender']) {
      assert.deepEqual(parseRsyncServer(`rsync --server -e.LsfxCIvu ${options} . /srv/in/`), { direction: 'upload', paths: ['/srv/in/'], needs: ['upload'] }, options);
    }
    // Values in the next word, as the client sends -T and --backup-dir: still read exactly.
    assert.deepEqual(parseRsyncServer('rsync --server -blogDtpre.iLsfxCIvu --backup-dir /tmp/bk --suffix=.x --temp-dir /tmp . /srv/in/'), { direction: 'upload', paths: ['/srv/in/'], needs: ['upload'] });
    assert.deepEqual(parseRsyncServer('rsync --server --sender -e.LsfxCIvu --suffix=--x -T . . /srv/a'), { direction: 'download', paths: ['/srv/a'], needs: ['download'] });
  });

  test('a receiver that compares the asset\'s files by content (-c, --append-verify) needs download too', () => {
    for (const command of ['rsync --server -nce.LsfxCIvu --log-format=%i . /srv/x', 'rsync --server -e.LsfxCIvu --checksum . /srv/x', 'rsync --server -e.LsfxCIvu --append --append . /srv/x', 'rsync --server -e.L --append-verify . /srv/x']) {
      assert.deepEqual(parseRsyncServer(command), { direction: 'upload', paths: ['/srv/x'], needs: ['upload', 'download'] }, command);
    }
    // A plain --append keeps the asset's bytes without comparing them; `c` inside -e's value is no option.
    assert.deepEqual(parseRsyncServer('rsync --server -e.LsfxCIvu --append . /srv/x'), { direction: 'upload', paths: ['/srv/x'], needs: ['upload'] });
    assert.deepEqual(parseRsyncServer('rsync --server -e.c . /srv/x'), { direction: 'upload', paths: ['/srv/x'], needs: ['upload'] });
  });

  test('a sender told to remove what it sent changes the asset\'s files: it needs upload too', () => {
    assert.deepEqual(parseRsyncServer('rsync --server --sender -vlogDtprze.iLsfxCIvu --inplace --remove-source-files . /srv/a'), { direction: 'download', paths: ['/srv/a'], needs: ['download', 'upload'] });
    assert.deepEqual(parseRsyncServer('rsync --server --sender -e.L --remove-sent-files . /srv/a'), { direction: 'download', paths: ['/srv/a'], needs: ['download', 'upload'] });
    // A receiver's --remove-source-files concerns the operator's side.
    assert.deepEqual(parseRsyncServer('rsync --server -e.L --remove-source-files . /srv/in/'), { direction: 'upload', paths: ['/srv/in/'], needs: ['upload'] });
  });

  test('an rsync server whose options cannot be read exactly needs both actions, never only connect', () => {
    for (const command of [
      'rsync --sender --server -e.LsfxC . /srv/a',
      'rsync --server -e.LsfxC . /srv/in/ --sender',
      'rsync --server -e.LsfxC --frobnicate --sender . /srv/in/',
      'rsync --server -e.LsfxC -Z --sender . /srv/in/',
      'rsync --server -e.LsfxC -- --sender . /srv/in/',
      'rsync --server -e.LsfxC --sender=1 . /srv/in/',
      'rsync --server -e.LsfxC /tmp . /srv/in/',
      'rsync --server --daemon .',
      'rsync --server --config=/tmp/evil.conf --daemon .',
      'rsync --server -vlogDtpre.iLsfxCIvu . /a /b',
      'rsync --server -vlogDtpre.iLsfxCIvu /srv/in',
    ]) assert.deepEqual(parseRsyncServer(command), { direction: 'upload', paths: [], needs: ['upload', 'download'] }, command);
  });

  test('scp and SFTP servers behind a wrapper are transfer servers; an scp client or a plain exec is not', () => {
    for (const command of [
      'sudo scp -t /tmp', 'sudo -u root scp -t /tmp', 'env scp -t /tmp', "sh -c 'scp -t /tmp'", 'doas scp -pf /etc/x', 'nice scp -t .',
      'timeout 5 scp -t /x', 'command scp -t /x', 'exec scp -f /etc/passwd', 'sudo scp -dt /tmp', 'scp -t /a /b',
    ]) assert.equal(hiddenTransferServer(command), 'scp', command);
    for (const command of ['/usr/lib/openssh/sftp-server', 'sudo /usr/lib/openssh/sftp-server -e', 'sudo su -c /usr/lib/sftp-server', 'internal-sftp', 'cat /dev/null | sudo /usr/lib/openssh/sftp-server', "sh -c 'ls; exec /usr/lib/openssh/sftp-server'",
      // Programs that run what they are given are no inspectors, nor is what only bears an inspector's name.
      'grep(){ "$@"; }; grep /usr/lib/openssh/sftp-server', 'function grep { "$@"; }; grep /usr/lib/openssh/sftp-server', 'grep () { exec "$@"; }\ngrep /usr/lib/openssh/sftp-server',
      '/tmp/grep /usr/lib/openssh/sftp-server', './ls /usr/lib/openssh/sftp-server', 'PATH=/tmp:$PATH; grep /usr/lib/openssh/sftp-server', 'export PATH=~/bin; ls /usr/lib/openssh/sftp-server',
      'alias grep=env; grep /usr/lib/openssh/sftp-server', 'BASH_ENV=/tmp/x grep /usr/lib/openssh/sftp-server',
      'find . -maxdepth 0 -exec /usr/lib/openssh/sftp-server ;', 'echo /usr/lib/openssh/sftp-server | sh']) {
      assert.equal(hiddenTransferServer(command), 'sftp', command);
    }
    for (const command of ['env rsync --server -e.L . /x', 'ls; rsync --server -e.L . /x', "sh -c 'rsync --server -e.L . /x'"]) assert.equal(hiddenTransferServer(command), 'rsync', command);
    // Read exactly by the legacy scp parser (its direction decides), or no server at all.
    for (const command of [
      'scp -t /tmp', '/usr/bin/scp -t /tmp', 'scp -v -t -- /tmp', 'scp -oStrictHostKeyChecking=no a b:c', 'scp -r /a host:/b', 'cat /tmp/scp-t', 'uptime',
      // Naming a server as data (looking for it) runs none.
      'grep internal-sftp /etc/ssh/sshd_config', '/usr/bin/grep -c internal-sftp /etc/ssh/sshd_config', 'ps aux | grep sftp-server', 'pgrep -a sftp-server', "grep -c 'scp -t' /var/log/auth.log", 'ls -l /usr/lib/openssh/sftp-server',
    ]) {
      assert.equal(hiddenTransferServer(command), null, command);
    }
  });

  test('the log options go before the `.` that ends the options, not before a value `.`', () => {
    assert.equal(withRsyncLog('rsync --server -e.L -T . . /srv/in/', { direction: 'upload', paths: ['/srv/in/'] }, 'N'),
      "rsync --server -e.L -T . --log-file=/dev/stderr '--log-file-format=N %% %o %l %n N' . /srv/in/");
  });
});

describe('file transfers without the action they need', { skip }, () => {
  let w: World;
  let remote: string;
  let local: string;
  let hostKeys: string[];
  let seq = 0;

  async function operator(actions: Action[], also: Action[] = []): Promise<{ user: User; ep: Endpoint; also: string | null }> {
    const password = `Tb-pass-${++seq}-xyz`;
    const user = await w.f.user({ username: `tb${seq}`, password });
    await w.f.permission({ users: [user.id], assets: [w.web01.id], systemUsers: [w.su.id], actions });
    // A second permission, to revoke while the first keeps the session's `connect`.
    const extra = also.length ? await w.f.permission({ users: [user.id], assets: [w.web01.id], systemUsers: [w.su.id], actions: also }) : null;
    return { user, ep: { port: w.gw.port, user: `${user.username}@web01`, password, hostKeys }, also: extra?.id ?? null };
  }

  function transfers(userId: string, count: number): Promise<FileTransfer[]> {
    return eventually(
      () => w.bastion.services.ds.getRepository(FileTransferEntity).find({ where: { userId }, order: { createdAt: 'ASC' } }),
      (rows) => rows.length >= count,
    );
  }

  /** A file on the asset, owned by its account. */
  async function onAsset(name: string, text: string): Promise<string> {
    const path = join(remote, name);
    writeFileSync(path, text);
    await execa('chown', [w.sshd.username, path]);
    return path;
  }

  before(async () => {
    w = await startWorld({ actions: ['connect'] });
    remote = makeTempDir('bastion-bypass-remote-');
    await execa('chown', [w.sshd.username, remote]);
    local = makeTempDir('bastion-bypass-local-');
    hostKeys = await hostKeyFingerprints(w.gw.port);
  });
  after(async () => {
    await w?.stop();
    await cleanup();
  });

  test('rsync: an upload dressed as a download (-M--suffix -M--sender) is refused to an operator with download only', async () => {
    const op = await operator(['connect', 'download']);
    const src = join(local, 'planted.txt');
    writeFileSync(src, 'planted');
    const r = await rsync(op.ep, ['-M--suffix', '-M--sender', src, `:${remote}/`]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /upload is not allowed to you on web01/);
    assert.equal(existsSync(join(remote, 'planted.txt')), false, 'nothing was written on the asset');
    const rows = await transfers(op.user.id, 1);
    assert.deepEqual(rows.map((x) => [x.operation, x.ok, x.message]), [['upload', false, 'upload is not allowed to you on web01']]);
  });

  test('rsync: a download that deletes its sources (--remove-source-files) is refused to an operator with download only', async () => {
    const op = await operator(['connect', 'download']);
    const victim = await onAsset('keep-me.txt', 'precious');
    const r = await rsync(op.ep, ['--remove-source-files', `:${victim}`, join(local, 'taken.txt')]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /upload is not allowed to you on web01/);
    assert.equal(readFileSync(victim, 'utf8'), 'precious', 'the file is still on the asset');
    assert.equal(existsSync(join(local, 'taken.txt')), false);
  });

  test('rsync: an upload with a separate option value (-T /tmp) is an upload, not a plain exec allowed by connect', async () => {
    const op = await operator(['connect']);
    const src = join(local, 'via-temp.txt');
    writeFileSync(src, 'via temp');
    const r = await rsync(op.ep, ['-T', '/tmp', src, `:${remote}/`]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /upload is not allowed to you on web01/);
    assert.equal(existsSync(join(remote, 'via-temp.txt')), false);
    // With upload it goes through, logged per file (the log options found the right `.`).
    const up = await operator(['connect', 'upload']);
    const ok = await rsync(up.ep, ['-T', '/tmp', src, `:${remote}/`]);
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.equal(readFileSync(join(remote, 'via-temp.txt'), 'utf8'), 'via temp');
    assert.deepEqual((await transfers(up.user.id, 1)).map((x) => [x.operation, x.path, x.size, x.ok]), [['upload', join(remote, 'via-temp.txt'), 8, true]]);
  });

  test('rsync through a wrapper (--rsync-path=\'env rsync\', as with sudo rsync) is not a plain exec allowed by connect: it needs both actions', async () => {
    const op = await operator(['connect', 'download']);
    const src = join(local, 'wrapped.txt');
    writeFileSync(src, 'wrapped');
    const r = await rsync(op.ep, ['--rsync-path=env rsync', src, `:${remote}/`]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /upload is not allowed to you on web01/);
    assert.equal(existsSync(join(remote, 'wrapped.txt')), false);
    const both = await operator(['connect', 'upload', 'download']);
    const ok = await rsync(both.ep, ['--rsync-path=env rsync', src, `:${remote}/`]);
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.equal(readFileSync(join(remote, 'wrapped.txt'), 'utf8'), 'wrapped');
  });

  test('scp behind a wrapper (sudo scp -t, env, sh -c, nice, timeout, command, exec) is not a plain exec allowed by connect: it needs both actions', async () => {
    // The real scp client, its remote command rewritten by a -S program (as `sudo scp` setups do):
    // `@` in the form stands for the command scp asks for.
    let n = 0;
    const scp = (ep: Endpoint, from: string, to: string, wrap: string) => {
      const wrapper = join(local, `scp-wrap-${++n}.sh`);
      writeFileSync(`${wrapper}.form`, wrap);
      writeFileSync(wrapper, '#!/bin/bash\nargs=("$@"); last=${args[-1]}; unset \'args[-1]\'; form=$(cat "$0.form")\nexec ssh "${args[@]}" "${form//@/$last}"\n', { mode: 0o755 });
      return opensshScp(ep, from, to, ['-O', '-S', wrapper]);
    };
    const src = join(local, 'wrapped-scp.txt');
    writeFileSync(src, 'wrapped scp');
    const upOnly = await operator(['connect', 'upload']);
    const downOnly = await operator(['connect', 'download']);
    const connectOnly = await operator(['connect']);
    const refusedUpload = async (op: { ep: Endpoint }, wrap: string) => {
      const r = await scp(op.ep, src, `:${remote}/`, wrap);
      assert.notEqual(r.exitCode, 0, wrap);
      assert.match(r.stderr, /upload is not allowed to you on web01/, wrap);
      assert.equal(existsSync(join(remote, 'wrapped-scp.txt')), false, `${wrap}: nothing was written on the asset`);
    };
    for (const wrap of ['env @', "sh -c '@'", 'nice @', 'timeout 5 @', 'command @', 'exec @']) await refusedUpload(connectOnly, wrap);
    await refusedUpload(downOnly, "sh -c '@'");
    const d = await scp(upOnly.ep, `:${await onAsset('wrapped-get.txt', 'secret')}`, join(local, 'wrapped-get.txt'), 'exec @');
    assert.notEqual(d.exitCode, 0);
    assert.match(d.stderr, /download is not allowed to you on web01/);
    assert.equal(existsSync(join(local, 'wrapped-get.txt')), false, 'nothing was read from the asset');
    // With both actions the wrapped scp runs (recorded as an exec).
    const both = await operator(['connect', 'upload', 'download']);
    const ok = await scp(both.ep, src, `:${remote}/`, "env @");
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.equal(readFileSync(join(remote, 'wrapped-scp.txt'), 'utf8'), 'wrapped scp');
  });

  test('an SFTP server run by exec (sftp -s /usr/lib/openssh/sftp-server) does not pass by the SFTP proxy\'s checks: it needs both actions', async () => {
    const secret = await onAsset('via-sftp-server.txt', 'sftp secret');
    const got = join(local, 'via-sftp-server.txt');
    // A wrapper dressed as a program that only looks (a shell function named grep, or a grep of one's own) is a wrapper.
    for (const server of ['/usr/lib/openssh/sftp-server', 'env /usr/lib/openssh/sftp-server -e', 'grep(){ "$@"; }; grep /usr/lib/openssh/sftp-server']) {
      for (const op of [await operator(['connect']), await operator(['connect', 'upload'])]) {
        const r = await opensshSftp(op.ep, [`get ${secret} ${got}`], ['-s', server]);
        assert.notEqual(r.exitCode, 0, server);
        assert.match(r.stderr, /(upload|download) is not allowed to you on web01/, server);
        assert.equal(existsSync(got), false, `${server}: the file was read`);
      }
    }
    const both = await operator(['connect', 'upload', 'download']);
    const ok = await opensshSftp(both.ep, [`get ${secret} ${got}`], ['-s', '/usr/lib/openssh/sftp-server']);
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.equal(readFileSync(got, 'utf8'), 'sftp secret');
  });

  test('rsync: an upload does not show an operator without download the asset file\'s block checksums (-B1 made them its bytes)', async () => {
    const op = await operator(['connect', 'upload']);
    const secret = await onAsset('checksummed.txt', 'TOPSECRET-abc\n');
    const src = join(local, 'checksummed.txt');
    writeFileSync(src, Buffer.alloc(14));
    // The stock client prints the receiver's checksums: with 1-byte blocks, sum1 is each byte twice (0x54 'T' → 00540054).
    const r = await rsync(op.ep, ['--no-whole-file', '-I', '-B1', '--debug=deltasum4', src, `:${secret}`]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /sum1=00540054|chunk\[\d+\]/, 'the asset file\'s checksums reached the operator');
    assert.deepEqual(readFileSync(secret), Buffer.alloc(14), 'the upload itself went through, whole');
    // With download too, rsync works as it always does (its checksums tell nothing the operator may not read).
    const both = await operator(['connect', 'upload', 'download']);
    const again = await onAsset('checksummed2.txt', 'TOPSECRET-abc\n');
    const d = await rsync(both.ep, ['--no-whole-file', '-I', '-B1', '--debug=deltasum4', src, `:${again}`]);
    assert.equal(d.exitCode, 0, d.stderr);
    assert.match(d.stdout + d.stderr, /sum1=00540054/);
  });

  test('rsync: an upload cannot tell an operator without download whether a guessed file equals the asset\'s (--checksum, --append-verify)', async () => {
    const op = await operator(['connect', 'upload']);
    const secret = await onAsset('pin.txt', 'PIN-4711\n');
    const guess = (text: string) => {
      const path = join(local, `guess-${text.trim()}`);
      writeFileSync(path, text);
      return path;
    };
    // -c compares whole-file checksums on the asset; -n -i shows the verdict and writes nothing: a right
    // guess itemizes nothing, a wrong one `<fc.T……` (seen before the fix). --append-verify (sent as
    // --append --append) checks the asset's existing bytes against the guess's after appending.
    for (const args of [['-n', '-c', '-i'], ['-c', '-i', '--stats'], ['--append-verify', '-i', '--timeout=60']]) {
      const right = await rsync(op.ep, [...args, guess('PIN-4711\n'), `:${secret}`]);
      assert.notEqual(right.exitCode, 0, args.join(' '));
      assert.match(right.stderr, /download is not allowed to you on web01/, args.join(' '));
      const wrong = await rsync(op.ep, [...args, guess('PIN-0000\n'), `:${secret}`]);
      assert.equal(wrong.stdout, right.stdout, `${args.join(' ')}: the output tells a right guess from a wrong one`);
    }
    assert.equal(readFileSync(secret, 'utf8'), 'PIN-4711\n', 'nothing was written');
    // A plain upload (a quick check by size and time, what `ls -l` shows anyway; -I: none) still goes through.
    const plain = await rsync(op.ep, ['-i', '-I', guess('PIN-0000\n'), `:${secret}`]);
    assert.equal(plain.exitCode, 0, plain.stderr);
    assert.equal(readFileSync(secret, 'utf8'), 'PIN-0000\n');
  });

  test('sftp: a file opened for "create" only (no READ flag) cannot be read by an operator with upload only', async () => {
    const op = await operator(['connect', 'upload']);
    const secret = await onAsset('secret.txt', 'the secret');
    const client = await ssh2Login(w.gw.port, { username: op.ep.user, password: op.ep.password });
    try {
      const sftp = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s))));
      // The asset's sftp-server opens O_RDONLY whenever WRITE is absent: CREAT alone gives a readable file.
      const opened = await new Promise<Buffer | Error>((resolve) => sftp.open(secret, OPEN_FLAGS.CREAT, (err, h) => resolve(err ?? h)));
      if (!(opened instanceof Error)) {
        const read = await new Promise<string | Error>((resolve) => sftp.read(opened, Buffer.alloc(64), 0, 64, 0, (err, n, buf) => resolve(err ?? buf.subarray(0, n).toString())));
        assert.ok(read instanceof Error, `read through a create-only handle: ${String(read)}`);
      }
      assert.ok(opened instanceof Error, 'the open itself is refused: it needs download');
      assert.match(opened.message, /download is not allowed/);
    } finally {
      client.end();
    }
    const rows = await transfers(op.user.id, 1);
    assert.deepEqual(rows.map((x) => [x.operation, x.path, x.ok]), [['download', secret, false]]);
  });

  test('sftp: once download is revoked, a file opened for reading hands out no more data (nor what was read ahead), the session stays', async () => {
    const op = await operator(['connect'], ['download']);
    const data = randomBytes(4 * 1024 * 1024);
    const path = join(remote, 'long-read.bin');
    writeFileSync(path, data);
    await execa('chown', [w.sshd.username, path]);
    const client = await ssh2Login(w.gw.port, { username: op.ep.user, password: op.ep.password });
    try {
      const sftp = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s))));
      const open = (p: string) => new Promise<Buffer>((resolve, reject) => sftp.open(p, 'r', (err, h) => (err ? reject(err) : resolve(h))));
      const handle = await open(path);
      const probe = await open(path);
      const CHUNK = 32 * 1024;
      const read = (h: Buffer, offset: number) => new Promise<Buffer | Error>((resolve) => sftp.read(h, Buffer.alloc(CHUNK), 0, CHUNK, offset, (err, n, buf) => resolve(err ?? Buffer.from(buf.subarray(0, n)))));
      // Read front to back until the gateway reads ahead (a whole span past the client's READs).
      let offset = 0;
      for (; offset < 8 * CHUNK; offset += CHUNK) {
        const got = await read(handle, offset);
        assert.ok(got instanceof Buffer && got.equals(data.subarray(offset, offset + CHUNK)));
      }
      await w.bastion.services.permissions.update(SYSTEM_ACTOR, op.also!, { active: false });
      // The re-check runs on the change, a moment later: the probe handle tells when (both go at once).
      const refused = await eventually(() => read(probe, 0), (v) => v instanceof Error, 15_000);
      assert.ok(refused instanceof Error, 'the probe still reads after download was revoked');
      assert.match(refused.message, /download is no longer allowed to you on web01/);
      // What was read ahead for the next READs is not handed out, nor anything else.
      for (const at of [offset, offset + CHUNK, 0]) {
        const got = await read(handle, at);
        assert.ok(got instanceof Error, `READ at ${at} after the revocation`);
        assert.match(got.message, /download is no longer allowed/);
      }
      // The session itself (connect) goes on: looking is still allowed.
      const st = await new Promise<{ size: number } | Error>((resolve) => sftp.stat(path, (err, s) => resolve(err ?? s)));
      assert.ok(!(st instanceof Error) && st.size === data.length);
      await new Promise<void>((resolve) => sftp.close(handle, () => resolve()));
    } finally {
      client.end();
    }
    const rows = await transfers(op.user.id, 2);
    assert.deepEqual(rows.map((x) => [x.operation, x.path, x.ok, x.message]), [['download', path, false, 'download is no longer allowed to you on web01'], ['download', path, false, 'download is no longer allowed to you on web01']]);
  });

  test('rsync: a download runs no further once download is revoked (connect kept): the session ends and says why', async () => {
    const op = await operator(['connect'], ['download']);
    const path = join(remote, 'slow.bin');
    writeFileSync(path, randomBytes(2 * 1024 * 1024));
    await execa('chown', [w.sshd.username, path]);
    // 64 KiB/s: the transfer is under way for half a minute unless it is stopped.
    const running = rsync(op.ep, ['--bwlimit=64', `:${path}`, join(local, 'slow.bin')]);
    // Bytes are coming: rsync's temporary file is there.
    const started = await eventually(async () => readdirSync(local).some((f) => f.startsWith('.slow.bin.')), (v) => v, 20_000);
    assert.ok(started, 'the rsync download started');
    await w.bastion.services.permissions.update(SYSTEM_ACTOR, op.also!, { active: false });
    const r = await running;
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /session ended: download is no longer allowed to you on web01/);
  });

  test('exec of a shell without a PTY (ssh host bash) is recorded whole, like ssh -T, not as a transfer', async () => {
    // As a transfer only the first and last 64 KiB of output were kept: an operator could work
    // in a shell for hours with only its first and last screens in the recording.
    const client = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
    const script = 'head -c 200000 /dev/zero | tr "\\0" a; echo\necho middle-$((6*7))-marker\nhead -c 200000 /dev/zero | tr "\\0" b; echo\nexit\n';
    try {
      const out = await new Promise<string>((resolve, reject) => client.exec('bash', (err, stream) => {
        if (err) return reject(err);
        let text = '';
        stream.on('data', (c: Buffer) => (text += c.toString()));
        stream.stderr.resume();
        stream.on('close', () => resolve(text));
        stream.end(script);
      }));
      assert.match(out, /middle-42-marker/);
    } finally {
      client.end();
    }
    const row = await eventually(() => w.bastion.services.ds.getRepository(SessionEntity).findOne({ where: { userId: w.alice.id, kind: 'exec' }, order: { startedAt: 'DESC' } }), (r) => r !== null && r.status !== 'active' && r.recording !== null);
    const file = recordingFile(w.bastion.services, row!)!;
    const [header, ...events] = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);
    assert.equal((header as { bastion?: { record?: string } }).bastion?.record, undefined, 'recorded as a terminal, not as a transfer');
    const text = (kind: string) => (events as [number, string, string][]).filter((e) => e[1] === kind).map((e) => e[2]).join('');
    // The whole output, its middle included (a transfer recording kept only the first and last 64 KiB).
    assert.match(text('o'), /middle-42-marker/);
    assert.ok(text('o').length > 400_000, `recorded ${text('o').length} bytes of output`);
  });
});
