// SFTP and modern scp through the gateway (`subsystem sftp`), with the real OpenSSH `sftp`
// and `scp` clients against a real sshd: reading needs `download`, changing needs `upload`,
// looking needs only `connect`; every file operation is a FileTransfer row; big files stream.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { FileTransferEntity, SessionEntity, type Action, type FileTransfer, type Session, type User } from '../core/db/entities/index.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { QUIET, eventually, ssh2Login, startWorld, type World } from './gatewayFixture.ts';

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

  before(async () => {
    w = await startWorld();
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
    ]);
    assert.equal(r.exitCode, 0, `exit: ${r.stderr} ${r.stdout}`);
    assert.match(r.stdout, /listed\.txt/);
    assert.match(r.stderr, /Permission denied|download is not allowed/i);
    assert.ok(!existsSync(join(local, 'got-refused.txt')) || readFileSync(join(local, 'got-refused.txt')).length === 0, 'nothing downloaded');
    assert.ok(!existsSync(join(remote, 'up-refused.txt')), 'the upload did not reach the asset');
    assert.ok(existsSync(there), 'neither renamed nor removed');
    assert.ok(!existsSync(join(remote, 'newdir')));

    const rows = await transfers(op.user.id, 5);
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
    for (const row of rows) {
      assert.equal(row.assetName, 'web01');
      assert.equal(row.username, op.user.username);
    }
    const [session] = await settledSessions(op.user.id, 1);
    assert.equal(session!.kind, 'sftp');
    assert.equal(session!.status, 'closed');
    assert.equal(rows[0]!.sessionId, session!.id);
  });

  test('with upload and download: bytes arrive identical both ways; rename, delete, mkdir, rmdir are recorded', async () => {
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
      `rm ${remote}/both-renamed.bin`,
    ]);
    assert.equal(r.exitCode, 0, `exit: ${r.stderr} ${r.stdout}`);
    assert.equal(sha256(readFileSync(back)), sha256(data));
    assert.ok(!existsSync(join(remote, 'both-renamed.bin')));
    const rows = await transfers(op.user.id, 6);
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
