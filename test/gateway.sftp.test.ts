// SFTP and scp through the gateway — `subsystem sftp` (sftp, modern scp) and legacy scp
// (`scp -O`, exec `scp -t`/`-f`) — with the real OpenSSH `sftp` and `scp` clients against a
// real sshd: reading needs `download`, changing needs `upload`, looking needs only `connect`;
// every file operation is a FileTransfer row; big files stream.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, readlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { FileTransferEntity, SessionEntity, type Action, type FileTransfer, type Session, type User } from '../core/db/entities/index.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { QUIET, eventually, gatewayTopology, inProcessOnly, ssh2Exec, ssh2Login, startWorld, type World } from './gatewayFixture.ts';
import { ScpTransferLog, parseLegacyScp, shellWords } from '../gateway/proxy/scpProtocol.ts';
import type { SftpProxyStats, TransferEntry } from '../gateway/sftp/sftpProxy.ts';
import type { SFTPWrapper } from 'ssh2';
import { recordingFile } from './helpers/recordings.ts';
import { stopReading, unsentOnceNotRead } from './helpers/unreadingClient.ts';

const skip = sshdUnavailable();
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (c) => h.update(c)).on('error', reject).on('end', () => resolve(h.digest('hex')));
  });
}

interface Operator {
  user: User;
  keyPath: string;
}

describe('legacy scp protocol, read along (no sshd needed)', () => {
  const run = (command: string, targetIsDir: boolean, sender: Buffer[], receiver: Buffer[], byteByByte = false) => {
    const rows: TransferEntry[] = [];
    const log = new ScpTransferLog(parseLegacyScp(command)!, targetIsDir, (e) => rows.push(e));
    // The two sides take turns: the receiver's first answer, then a message, then its answer…
    const feed = (side: 'sender' | 'receiver', b: Buffer) => {
      const parts = byteByByte ? [...b].map((x) => Buffer.from([x])) : [b];
      for (const p of parts) (side === 'sender' ? log.fromSender(p) : log.fromReceiver(p));
    };
    for (let i = 0; i < Math.max(sender.length, receiver.length); i++) {
      if (receiver[i]) feed('receiver', receiver[i]!);
      if (sender[i]) feed('sender', sender[i]!);
    }
    log.end();
    return rows;
  };
  const ok = Buffer.from([0]);
  const data = randomBytes(70_000);

  test('the command line: direction, flags and quoted paths', () => {
    assert.deepEqual(parseLegacyScp("scp -r -d -t -- '/srv/my files/'"), { direction: 'upload', recursive: true, targetIsDirectory: true, paths: ['/srv/my files/'] });
    assert.deepEqual(parseLegacyScp('scp -pf /etc/hosts "/tmp/a b"'), { direction: 'download', recursive: false, targetIsDirectory: false, paths: ['/etc/hosts', '/tmp/a b'] });
    assert.equal(parseLegacyScp('scp file host:'), null, 'a client command, not the remote end');
    assert.equal(parseLegacyScp('uptime'), null);
    assert.deepEqual(shellWords(String.raw`a 'b c' "d \"e\"" f\ g`), ['a', 'b c', 'd "e"', 'f g']);
  });

  test('only a whole command that is one scp invocation is legacy scp; anything a shell would do more with is not', () => {
    // Any path to scp, as the shell would find it.
    assert.deepEqual(parseLegacyScp('/usr/bin/scp -t /tmp/x'), { direction: 'upload', recursive: false, targetIsDirectory: false, paths: ['/tmp/x'] });
    assert.deepEqual(parseLegacyScp('  ./scp -v -f -- -dash.txt  '), { direction: 'download', recursive: false, targetIsDirectory: false, paths: ['-dash.txt'] });
    assert.deepEqual(parseLegacyScp("scp -f '/tmp/$(x);y' /tmp/*.log"), { direction: 'download', recursive: false, targetIsDirectory: false, paths: ['/tmp/$(x);y', '/tmp/*.log'] });
    for (const command of [
      'scp -f /dev/null; exec bash -i',
      'scp -f /dev/null && bash',
      'scp -f /dev/null || bash',
      'scp -f /dev/null | bash',
      'scp -f /dev/null & bash',
      'scp -t /tmp/x > /tmp/y',
      'scp -t /tmp/x < /etc/passwd',
      'scp -f $(bash -i)',
      'scp -f `bash -i`',
      'scp -f "$(bash -i)"',
      'scp -f ${HOME}',
      'scp -f (x)',
      'scp -f /dev/null\nbash -i',
      'scp -f /dev/null\rbash',
      'scp -f /dev/null #comment',
      "scp -f 'unterminated",
      'scp -f x\\',
      'scp -S /bin/sh -f x',
      'scp -o ProxyCommand=sh -f x',
      'scp -t -f x',
      'scp -t a b',
      'scp -t',
      'scp -f',
      'scp -f x -r',
      'X=1 scp -f x',
      'a=b/scp -f x',
      'scp2 -f x',
      'exec scp -f x',
      'sudo scp -f x',
      'command scp -t x',
    ]) assert.equal(parseLegacyScp(command), null, JSON.stringify(command));
  });

  for (const byteByByte of [false, true]) {
    test(`an upload into a directory, with times, a second file refused by the asset${byteByByte ? ', fed byte by byte' : ''}`, () => {
      const rows = run('scp -p -t /srv/in', true,
        [Buffer.from('T1700000000 0 1700000000 0\n'), Buffer.from(`C0644 ${data.length} one.bin\n`), Buffer.concat([data, ok]), Buffer.from('C0600 5 two.txt\n')],
        [ok, ok, ok, ok, Buffer.from('\x01scp: /srv/in/two.txt: Permission denied\n')], byteByByte);
      assert.deepEqual(rows, [
        { operation: 'upload', path: '/srv/in/one.bin', size: data.length, ok: true },
        { operation: 'upload', path: '/srv/in/two.txt', size: 0, ok: false, message: 'scp: /srv/in/two.txt: Permission denied' },
      ]);
    });
  }

  test('an upload to a file name, and a recursive upload with its directories', () => {
    assert.deepEqual(run('scp -t /srv/renamed.bin', false, [Buffer.from('C0644 3 orig.bin\n'), Buffer.from('abc\0')], [ok, ok, ok]),
      [{ operation: 'upload', path: '/srv/renamed.bin', size: 3, ok: true }]);
    const rows = run('scp -r -t /srv/', true,
      [Buffer.from('D0755 0 site\n'), Buffer.from('C0644 2 index.html\n'), Buffer.from('hi\0'), Buffer.from('D0755 0 css\n'), Buffer.from('C0644 0 a.css\n'), Buffer.from('\0'), Buffer.from('E\n'), Buffer.from('E\n')],
      [ok, ok, ok, ok, ok, ok, ok, ok, ok]);
    assert.deepEqual(rows.map((r) => [r.operation, r.path, r.size ?? null, r.ok]), [
      ['mkdir', '/srv/site', null, true], ['upload', '/srv/site/index.html', 2, true], ['mkdir', '/srv/site/css', null, true], ['upload', '/srv/site/css/a.css', 0, true],
    ]);
  });

  test('a download: the file sent, a missing one, and one cut off halfway', () => {
    const rows = run('scp -f /var/log/app.log /nope /var/log/big.log', false,
      [Buffer.from(`C0644 ${data.length} app.log\n`), Buffer.concat([data, ok]), Buffer.from('\x01scp: /nope: No such file or directory\nC0644 100000 big.log\n'), data.subarray(0, 1000)],
      [ok, ok, ok, ok]);
    assert.deepEqual(rows, [
      { operation: 'download', path: '/var/log/app.log', size: data.length, ok: true },
      { operation: 'download', path: '/var/log/app.log /nope /var/log/big.log', size: 0, ok: false, message: 'scp: /nope: No such file or directory' },
      { operation: 'download', path: '/var/log/big.log', size: 1000, ok: false, message: 'the transfer was interrupted' },
    ]);
  });

  test('bytes that are not the protocol stop the reading (said once in the log), never the transfer', () => {
    const rows = run('scp -t /srv', true, [Buffer.from('garbage without a header\n'), Buffer.from('C0644 1 x\n')], [ok, ok]);
    assert.deepEqual(rows, [{ operation: 'upload', path: '/srv', size: 0, ok: false, message: 'the scp stream could not be read along; its files are not listed one by one' }]);
  });
});

describe('SSH gateway: SFTP and scp under upload/download rights', { skip }, () => {
  let w: World;
  let seq = 0;
  /** A directory on the "asset" (the local sshd's account may write there). */
  let remote: string;
  let local: string;
  const s = () => w.bastion.services;
  const keyOpts = (keyPath: string) => [...QUIET, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', keyPath];

  async function operator(actions: Action[]): Promise<Operator> {
    const user = await w.f.user({ username: `ft${++seq}`, password: `Ft-pass-${seq}-xyz` });
    await w.f.permission({ users: [user.id], assets: [w.web01.id], systemUsers: [w.su.id], actions });
    const dir = makeTempDir('bastion-sftp-key-');
    const keyPath = join(dir, 'id_ed25519');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyPath]);
    await s().userKeys.add(SYSTEM_ACTOR, user.id, { publicKey: readFileSync(`${keyPath}.pub`, 'utf8') });
    return { user, keyPath };
  }

  /** `sftp -b -` with the given batch lines; a line starting with `-` may fail without aborting. */
  function sftp(op: Operator, lines: string[], target = 'web01') {
    return execa('sftp', [...keyOpts(op.keyPath), '-P', String(w.gw.port), '-b', '-', `${op.user.username}@${target}@127.0.0.1`], {
      input: lines.join('\n') + '\n', reject: false, timeout: 60_000,
    });
  }

  function scp(op: Operator, from: string, to: string) {
    return execa('scp', [...keyOpts(op.keyPath), '-s', '-P', String(w.gw.port), from, to], { reject: false, timeout: 120_000 });
  }
  const at = (op: Operator, path: string) => `${op.user.username}@web01@127.0.0.1:${path}`;

  async function transfers(userId: string, count: number): Promise<FileTransfer[]> {
    return eventually(
      () => s().ds.getRepository(FileTransferEntity).find({ where: { userId }, order: { createdAt: 'ASC' } }),
      (rows) => rows.length >= count,
    );
  }
  async function settledSessions(userId: string, count: number): Promise<Session[]> {
    return eventually(
      () => s().ds.getRepository(SessionEntity).find({ where: { userId }, order: { startedAt: 'ASC' } }),
      (rows) => rows.length >= count && rows.every((r) => r.status !== 'active'),
    );
  }

  function remoteFile(name: string, content: Buffer | string): string {
    const path = join(remote, name);
    writeFileSync(path, content);
    chmodSync(path, 0o666);
    return path;
  }

  /** What each SFTP session's proxy held at most (an in-process gateway tells). */
  const sftpEnds: SftpProxyStats[] = [];

  before(async () => {
    w = await startWorld(gatewayTopology() === 'in-process' ? { gateway: { onSftpEnd: (stats) => sftpEnds.push(stats) } } : {});
    remote = makeTempDir('bastion-sftp-remote-');
    await execa('chown', [w.sshd.username, remote]);
    local = makeTempDir('bastion-sftp-local-');
  });
  after(async () => {
    await w?.stop();
    await cleanup();
  });

  test('with connect only: listing works; download, upload, rename and delete are refused and recorded', async () => {
    const op = await operator(['connect']);
    const there = remoteFile('listed.txt', 'hello from the asset\n');
    const up = join(local, 'up-refused.txt');
    writeFileSync(up, 'must not arrive\n');
    const r = await sftp(op, [
      `ls -l ${remote}`,
      `-get ${there} ${join(local, 'got-refused.txt')}`,
      `-put ${up} ${remote}/up-refused.txt`,
      `-rename ${there} ${remote}/renamed.txt`,
      `-rm ${there}`,
      `-mkdir ${remote}/newdir`,
      `-ln -s ${there} ${remote}/link-refused`,
    ]);
    assert.equal(r.exitCode, 0, `exit: ${r.stderr} ${r.stdout}`);
    assert.match(r.stdout, /listed\.txt/);
    assert.match(r.stderr, /Permission denied|download is not allowed/i);
    assert.ok(!existsSync(join(local, 'got-refused.txt')) || readFileSync(join(local, 'got-refused.txt')).length === 0, 'nothing downloaded');
    assert.ok(!existsSync(join(remote, 'up-refused.txt')), 'the upload did not reach the asset');
    assert.ok(existsSync(there), 'neither renamed nor removed');
    assert.ok(!existsSync(join(remote, 'newdir')));

    const rows = await transfers(op.user.id, 6);
    const by = (operation: string) => rows.filter((x) => x.operation === operation);
    assert.equal(by('download').length, 1);
    assert.equal(by('download')[0]!.ok, false);
    assert.match(by('download')[0]!.message, /download is not allowed to you on web01/);
    assert.equal(by('upload')[0]!.ok, false);
    assert.equal(by('upload')[0]!.path, `${remote}/up-refused.txt`);
    assert.equal(by('rename')[0]!.ok, false);
    assert.equal(by('rename')[0]!.targetPath, `${remote}/renamed.txt`);
    assert.equal(by('delete')[0]!.ok, false);
    assert.equal(by('mkdir')[0]!.ok, false);
    assert.deepEqual(by('symlink').map((x) => [x.path, x.ok]), [[`${remote}/link-refused`, false]]);
    assert.ok(!existsSync(join(remote, 'link-refused')));
    for (const row of rows) {
      assert.equal(row.assetName, 'web01');
      assert.equal(row.username, op.user.username);
    }
    const [session] = await settledSessions(op.user.id, 1);
    assert.equal(session!.kind, 'sftp');
    assert.equal(session!.status, 'closed');
    assert.equal(rows[0]!.sessionId, session!.id);
  });

  test('with upload and download: bytes arrive identical both ways; rename, delete, mkdir, rmdir, symlink are recorded', async () => {
    const op = await operator(['connect', 'upload', 'download']);
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const src = join(local, 'both.bin');
    writeFileSync(src, data);
    const back = join(local, 'both-back.bin');
    const r = await sftp(op, [
      `put ${src} ${remote}/both.bin`,
      `get ${remote}/both.bin ${back}`,
      `rename ${remote}/both.bin ${remote}/both-renamed.bin`,
      `mkdir ${remote}/made`,
      `rmdir ${remote}/made`,
      `ln -s ${remote}/both-renamed.bin ${remote}/both-link`,
      `rm ${remote}/both-renamed.bin`,
    ]);
    assert.equal(r.exitCode, 0, `exit: ${r.stderr} ${r.stdout}`);
    assert.equal(sha256(readFileSync(back)), sha256(data));
    assert.ok(!existsSync(join(remote, 'both-renamed.bin')));
    const rows = await transfers(op.user.id, 7);
    const one = (operation: string) => {
      const found = rows.filter((x) => x.operation === operation);
      assert.equal(found.length, 1, `${operation}: ${JSON.stringify(rows.map((x) => [x.operation, x.path, x.ok]))}`);
      return found[0]!;
    };
    assert.deepEqual({ ok: one('upload').ok, size: one('upload').size, path: one('upload').path }, { ok: true, size: data.length, path: `${remote}/both.bin` });
    assert.deepEqual({ ok: one('download').ok, size: one('download').size }, { ok: true, size: data.length });
    assert.equal(one('rename').targetPath, `${remote}/both-renamed.bin`);
    assert.equal(one('delete').path, `${remote}/both-renamed.bin`);
    assert.ok(one('mkdir').ok && one('rmdir').ok);
    // The link is made the right way round, and its row names the link and what it points to.
    assert.equal(readlinkSync(join(remote, 'both-link')), `${remote}/both-renamed.bin`);
    assert.deepEqual([one('symlink').path, one('symlink').targetPath, one('symlink').ok], [`${remote}/both-link`, `${remote}/both-renamed.bin`, true]);
    const [session] = await settledSessions(op.user.id, 1);
    assert.ok(session!.bytesIn >= data.length && session!.bytesOut >= data.length, `bytes ${session!.bytesIn}/${session!.bytesOut}`);
  });

  test('modern scp (SFTP mode) works both ways, byte-exact', async () => {
    const op = await operator(['connect', 'upload', 'download']);
    const data = randomBytes(700_000);
    const src = join(local, 'scp-up.bin');
    writeFileSync(src, data);
    const up = await scp(op, src, at(op, `${remote}/`));
    assert.equal(up.exitCode, 0, `scp: ${up.stderr} ${up.stdout} ${up.exitCode}`);
    assert.equal(sha256(readFileSync(join(remote, 'scp-up.bin'))), sha256(data));
    const back = join(local, 'scp-down.bin');
    const down = await scp(op, at(op, `${remote}/scp-up.bin`), back);
    assert.equal(down.exitCode, 0, `scp: ${down.stderr} ${down.stdout}`);
    assert.equal(sha256(readFileSync(back)), sha256(data));
    const rows = await transfers(op.user.id, 2);
    assert.ok(rows.some((x) => x.operation === 'upload' && x.ok && x.size === data.length));
    assert.ok(rows.some((x) => x.operation === 'download' && x.ok && x.size === data.length));
  });

  test('a download-only operator: scp upload is refused and logged, scp download works', async () => {
    const op = await operator(['connect', 'download']);
    const there = remoteFile('for-download.txt', 'readable\n');
    const src = join(local, 'scp-refused.txt');
    writeFileSync(src, 'nope\n');
    const up = await scp(op, src, at(op, `${remote}/scp-refused.txt`));
    assert.notEqual(up.exitCode, 0);
    assert.match(up.stderr, /upload is not allowed to you on web01|Permission denied/);
    assert.ok(!existsSync(join(remote, 'scp-refused.txt')));
    const back = join(local, 'for-download.txt');
    const down = await scp(op, at(op, there), back);
    assert.equal(down.exitCode, 0, `scp: ${down.stderr} ${down.stdout}`);
    assert.equal(readFileSync(back, 'utf8'), 'readable\n');
    const rows = await transfers(op.user.id, 2);
    assert.ok(rows.some((x) => x.operation === 'upload' && !x.ok && x.path === `${remote}/scp-refused.txt`), JSON.stringify(rows));
    assert.ok(rows.some((x) => x.operation === 'download' && x.ok));
  });

  function legacyScp(op: Operator, args: string[]) {
    return execa('scp', [...keyOpts(op.keyPath), '-O', '-P', String(w.gw.port), ...args], { reject: false, timeout: 120_000 });
  }

  test('legacy scp (-O) works both ways, byte-exact, and writes a FileTransfer row per file', async () => {
    const op = await operator(['connect', 'upload', 'download']);
    const data = randomBytes(1_500_000);
    const src = join(local, 'legacy-up.bin');
    writeFileSync(src, data);
    // Into a directory named without a trailing slash: the row still names the file in it.
    const up = await legacyScp(op, [src, at(op, remote)]);
    assert.equal(up.exitCode, 0, `scp: ${up.stderr}`);
    assert.equal(sha256(readFileSync(join(remote, 'legacy-up.bin'))), sha256(data));
    // To a new file name.
    const renamed = await legacyScp(op, [src, at(op, `${remote}/legacy-renamed.bin`)]);
    assert.equal(renamed.exitCode, 0, `scp: ${renamed.stderr}`);
    // A directory, recursively.
    const tree = join(local, 'tree');
    await execa('mkdir', ['-p', join(tree, 'sub')]);
    writeFileSync(join(tree, 'a.txt'), 'alpha\n');
    writeFileSync(join(tree, 'sub', 'b.txt'), 'beta\n');
    const recursive = await legacyScp(op, ['-r', tree, at(op, `${remote}/`)]);
    assert.equal(recursive.exitCode, 0, `scp: ${recursive.stderr}`);
    assert.equal(readFileSync(join(remote, 'tree', 'sub', 'b.txt'), 'utf8'), 'beta\n');
    // Download, and a download of a file that is not there.
    const back = join(local, 'legacy-back.bin');
    const down = await legacyScp(op, [at(op, `${remote}/legacy-up.bin`), back]);
    assert.equal(down.exitCode, 0, `scp: ${down.stderr}`);
    assert.equal(sha256(readFileSync(back)), sha256(data));
    const missing = await legacyScp(op, [at(op, `${remote}/not-there.txt`), join(local, 'never.txt')]);
    assert.notEqual(missing.exitCode, 0);
    assert.match(missing.stderr, /No such file/);

    const rows = await transfers(op.user.id, 8);
    const brief = rows.map((r) => `${r.operation} ${r.path} ${r.size} ${r.ok ? 'ok' : 'failed'}`);
    for (const line of [
      `upload ${remote}/legacy-up.bin ${data.length} ok`,
      `upload ${remote}/legacy-renamed.bin ${data.length} ok`,
      `mkdir ${remote}/tree 0 ok`,
      `upload ${remote}/tree/a.txt 6 ok`,
      `mkdir ${remote}/tree/sub 0 ok`,
      `upload ${remote}/tree/sub/b.txt 5 ok`,
      `download ${remote}/legacy-up.bin ${data.length} ok`,
      `download ${remote}/not-there.txt 0 failed`,
    ]) assert.ok(brief.includes(line), `${line} in ${JSON.stringify(brief)}`);
    assert.match(rows.find((r) => r.path.endsWith('not-there.txt'))!.message, /No such file/);
    // Each scp was its own exec session, and its file bytes were not written as a terminal recording.
    const sessions = await settledSessions(op.user.id, 5);
    assert.ok(sessions.every((x) => x.kind === 'exec' && x.recording === null), JSON.stringify(sessions.map((x) => [x.kind, x.recording])));
    assert.ok(rows.every((r) => sessions.some((x) => x.id === r.sessionId)));
  });

  test('legacy scp (-O): an upload without the upload action is refused, recorded, and nothing arrives', async () => {
    const op = await operator(['connect', 'download']);
    const src = join(local, 'legacy-refused.txt');
    writeFileSync(src, 'must not arrive\n');
    const up = await legacyScp(op, [src, at(op, `${remote}/legacy-refused.txt`)]);
    assert.notEqual(up.exitCode, 0);
    assert.match(up.stderr, /upload is not allowed to you on web01/);
    assert.ok(!existsSync(join(remote, 'legacy-refused.txt')));
    const [row] = await transfers(op.user.id, 1);
    assert.deepEqual({ operation: row!.operation, path: row!.path, ok: row!.ok }, { operation: 'upload', path: `${remote}/legacy-refused.txt`, ok: false });
    assert.match(row!.message, /upload is not allowed to you on web01/);
    // Download is allowed.
    const there = remoteFile('legacy-readable.txt', 'readable\n');
    const down = await legacyScp(op, [at(op, there), join(local, 'legacy-readable.txt')]);
    assert.equal(down.exitCode, 0, `scp: ${down.stderr}`);
    assert.equal(readFileSync(join(local, 'legacy-readable.txt'), 'utf8'), 'readable\n');
  });

  test('an exec that only starts like scp is recorded as a normal exec, never hidden as a transfer', { timeout: 60_000 }, async () => {
    const op = await operator(['connect', 'upload', 'download']);
    const client = await ssh2Login(w.gw.port, { username: `${op.user.username}@web01`, privateKey: readFileSync(op.keyPath) });
    try {
      // scp -f waits for the receiver's first answer: stdin ends at once, so it gives up and the rest runs.
      const out = await new Promise<string>((resolve, reject) => {
        client.exec('scp -f /dev/null; echo smuggled-$((6*7))', (err, stream) => {
          if (err) return reject(err);
          let text = '';
          stream.on('data', (d: Buffer) => (text += d.toString()));
          stream.stderr.resume();
          stream.on('close', () => resolve(text));
          stream.end();
        });
      });
      assert.match(out, /smuggled-42/);
    } finally {
      client.end();
    }
    const [session] = await settledSessions(op.user.id, 1);
    assert.equal(session!.kind, 'exec');
    const file = recordingFile(s(), session!);
    assert.ok(file, 'the exec has a recording');
    assert.match(readFileSync(file, 'utf8'), /smuggled-42/);
    const rows = await s().ds.getRepository(FileTransferEntity).find({ where: { userId: op.user.id } });
    assert.deepEqual(rows, [], 'no transfer rows: it was not read as scp');
  });

  test('legacy scp started by another path (/usr/bin/scp) is checked against upload and its files are rows', { timeout: 60_000 }, async () => {
    const connectOnly = await operator(['connect']);
    const refusedClient = await ssh2Login(w.gw.port, { username: `${connectOnly.user.username}@web01`, privateKey: readFileSync(connectOnly.keyPath) });
    try {
      const r = await ssh2Exec(refusedClient, `/usr/bin/scp -t ${remote}/by-path-refused.txt`);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /upload is not allowed to you on web01/);
    } finally {
      refusedClient.end();
    }
    assert.ok(!existsSync(join(remote, 'by-path-refused.txt')));
    const [refused] = await transfers(connectOnly.user.id, 1);
    assert.deepEqual([refused!.operation, refused!.path, refused!.ok], ['upload', `${remote}/by-path-refused.txt`, false]);

    // With upload, the protocol spoken by hand: the file arrives and is a row.
    const op = await operator(['connect', 'upload']);
    const client = await ssh2Login(w.gw.port, { username: `${op.user.username}@web01`, privateKey: readFileSync(op.keyPath) });
    try {
      const code = await new Promise<number | null>((resolve, reject) => {
        client.exec(`/usr/bin/scp -t ${remote}/by-path.txt`, (err, stream) => {
          if (err) return reject(err);
          const steps = [Buffer.from('C0644 5 by-path.txt\n'), Buffer.from('hello\0'), null];
          let exit: number | null = null;
          stream.on('data', (d: Buffer) => {
            // One answer byte (0 = go on) per step.
            for (const byte of d) {
              assert.equal(byte, 0, `scp answered ${d.toString()}`);
              const next = steps.shift();
              if (next) stream.write(next);
              else if (next === null) stream.end();
            }
          });
          stream.on('exit', (c: number | null) => (exit = c));
          stream.on('close', () => resolve(exit));
        });
      });
      assert.equal(code, 0);
    } finally {
      client.end();
    }
    assert.equal(readFileSync(join(remote, 'by-path.txt'), 'utf8'), 'hello');
    const [row] = await transfers(op.user.id, 1);
    assert.deepEqual([row!.operation, row!.path, row!.size, row!.ok], ['upload', `${remote}/by-path.txt`, 5, true]);
  });

  test('sftp without a target, or to an asset not granted, says why in one line', async () => {
    const op = await operator(['connect', 'upload', 'download']);
    const none = await execa('sftp', [...keyOpts(op.keyPath), '-P', String(w.gw.port), '-b', '-', `${op.user.username}@127.0.0.1`], { input: 'ls\n', reject: false, timeout: 30_000 });
    assert.notEqual(none.exitCode, 0);
    assert.match(none.stderr, /name the asset to transfer files with/);
    const hidden = await sftp(op, ['ls'], 'nosuch');
    assert.notEqual(hidden.exitCode, 0);
    assert.match(hidden.stderr, /no asset named 'nosuch' is granted to you/);
  });

  test('terminating an sftp session ends the client with the reason', async () => {
    const op = await operator(['connect']);
    const client = await ssh2Login(w.gw.port, { username: `${op.user.username}@web01`, privateKey: readFileSync(op.keyPath) });
    try {
      const sftpClient = await new Promise<import('ssh2').SFTPWrapper>((resolve, reject) => client.sftp((err, x) => (err ? reject(err) : resolve(x))));
      const names = await new Promise<string[]>((resolve, reject) => sftpClient.readdir(remote, (err, list) => (err ? reject(err) : resolve(list.map((e) => e.filename)))));
      assert.ok(Array.isArray(names));
      const closed = new Promise<void>((resolve) => sftpClient.once('close', () => resolve()));
      const [row] = await eventually(() => s().ds.getRepository(SessionEntity).find({ where: { userId: op.user.id, status: 'active' } }), (r) => r.length === 1);
      await s().sessionControl.terminate(SYSTEM_ACTOR, row!.id);
      await closed;
      const [ended] = await settledSessions(op.user.id, 1);
      assert.equal(ended!.status, 'terminated');
    } finally {
      client.end();
    }
  });

  test('READ answers still reach a client after the window closed on other answers (status, attrs) and opened again', async () => {
    // ssh2 queues a status or attrs answer the client's window does not take, and when the window
    // opens it sends its queue and replaces it with a new array: the READ answers, gathered into
    // packets (sftpChannel.ts coalesceAnswers), went on into the old one and were never sent.
    const op = await operator(['connect', 'download']);
    const L = 32 * 1024;
    const data = randomBytes(100 * L);
    const path = remoteFile('window-reopened.bin', data);
    const client = await ssh2Login(w.gw.port, { username: `${op.user.username}@web01`, privateKey: readFileSync(op.keyPath) });
    try {
      const open = () => new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s))));
      const sftp = await open();
      const probe = await open();
      const handle = await new Promise<Buffer>((resolve, reject) => sftp.open(path, 'r', (err, h) => (err ? reject(err) : resolve(h))));
      const readAgain = stopReading(client);
      const got = new Map<number, Buffer>();
      const read = (i: number) => sftp.read(handle, Buffer.alloc(L), 0, L, i * L, (err, n, buf) => got.set(i, err ? Buffer.from(err.message) : Buffer.from(buf.subarray(0, n))));
      // More READs than the client's 2 MiB window takes, then answers that ssh2 itself queues once it is full.
      for (let i = 0; i < 80; i++) read(i);
      await eventually(async () => got.size, (n) => n >= 60);
      let refused = 0;
      for (let i = 0; i < 1500; i++) sftp.read(Buffer.alloc(4), Buffer.alloc(1), 0, 1, 0, () => refused++);
      // A round trip on another channel: the gateway has read all of the above.
      await new Promise<void>((resolve) => probe.read(Buffer.alloc(4), Buffer.alloc(1), 0, 1, 0, () => resolve()));
      assert.ok(refused < 1500, 'the window closed on the refusals');
      readAgain((sftp as unknown as { outgoing: { id: number } }).outgoing.id, 64 * 1024 * 1024);
      for (let i = 80; i < 100; i++) read(i);
      const all = await eventually(async () => got.size + refused, (n) => n === 1600);
      assert.equal(all, 1600, `READs answered: ${got.size} of 100`);
      assert.ok(Buffer.concat([...got.keys()].sort((a, b) => a - b).map((i) => got.get(i)!)).equals(data));
    } finally {
      client.end();
    }
  });

  inProcessOnly('the proxy\'s peaks, told by an in-process gateway\'s onSftpEnd', () => {
    test('a client that sends requests without reading their answers is read no further once a bounded backlog of answers waits for it (rule 13)', async () => {
      // READs of a file opened for writing are answered at once, without the asset: before, the
      // gateway kept reading such a client and its answers piled up without bound (+48 MiB for
      // 400,000 READs of an invalid handle). 160,000 READs (4.6 MB): 9 MB of answers for a 2 MiB window.
      const N = 160_000;
      const op = await operator(['connect', 'upload']);
      const endedBefore = sftpEnds.length;
      const client = await ssh2Login(w.gw.port, { username: `${op.user.username}@web01`, privateKey: readFileSync(op.keyPath) });
      try {
        const open = () => new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s))));
        const sftp = await open();
        const probe = await open();
        const handle = await new Promise<Buffer>((resolve, reject) => sftp.open(join(remote, 'write-only.bin'), 'w', (err, h) => (err ? reject(err) : resolve(h))));
        // The client stops opening its window: it reads no more answers.
        const readAgain = stopReading(client);
        const answers: Array<string> = [];
        for (let i = 0; i < N; i++) sftp.read(handle, Buffer.alloc(1), 0, 1, 0, (err) => answers.push(err ? `${i}:${err.message}` : `${i}:data`));
        const chan = sftp as unknown as { outgoing: { window: number; id: number }; _buffer: Buffer[] };
        // The round trip: a READ the gateway refuses itself, on another channel.
        const roundTrip = () => new Promise<void>((resolve) => probe.read(Buffer.alloc(4), Buffer.alloc(1), 0, 1, 0, () => resolve()));
        const unsent = await unsentOnceNotRead({ window: () => chan.outgoing.window, unsent: () => chan._buffer.reduce((n, b) => n + b.length, 0) }, roundTrip);
        assert.ok(unsent > 0, 'the gateway read every request of a client that reads no answers');
        // Once the client reads again, every request is answered, in order.
        readAgain(chan.outgoing.id, 64 * 1024 * 1024);
        await eventually(async () => answers.length, (n) => n === N, 60_000);
        assert.deepEqual(answers.filter((a, i) => a !== `${i}:the file was not opened for reading`), []);
      } finally {
        client.end();
      }
      // Both SFTP sessions (the flood's and the probe's) have ended and told their peaks.
      const ours = await eventually(async () => sftpEnds.slice(endedBefore), (e) => e.length >= 2);
      const most = Math.max(...ours.map((e) => e.maxAnswerBacklog));
      assert.ok(most > 1024 * 1024, `the answers did wait for the client (${most} bytes)`);
      assert.ok(most <= 2 * 1024 * 1024 + 256 * 1024, `answers waiting for the client: ${most} bytes`);
    });
  });

  test('a 256 MiB upload streams through with flat gateway memory, byte-exact', async () => {
    const op = await operator(['connect', 'upload']);
    const src = join(local, 'big.bin');
    await execa('sh', ['-c', `head -c ${256 * 1024 * 1024} /dev/urandom > ${src}`]);
    const expected = await sha256File(src);
    const base = process.memoryUsage().rss;
    let peak = base;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    const started = Date.now();
    let r;
    try {
      r = await scp(op, src, at(op, `${remote}/big.bin`));
    } finally {
      clearInterval(sampler);
    }
    assert.equal(r.exitCode, 0, `exit: ${r.stderr} ${r.stdout}`);
    const growth = (peak - base) / 1024 / 1024;
    assert.ok(growth < 64, `gateway RSS grew by ${growth.toFixed(1)} MiB`);
    assert.equal(await sha256File(join(remote, 'big.bin')), expected);
    const rows = await transfers(op.user.id, 1);
    assert.equal(rows[0]!.size, 256 * 1024 * 1024);
    // For the report: the speed through the gateway.
    const secs = (Date.now() - started) / 1000;
    process.stderr.write(`# 256 MiB upload through the gateway: ${secs.toFixed(1)} s, RSS +${growth.toFixed(1)} MiB\n`);
  });
});
