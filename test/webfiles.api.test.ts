// The web file manager's API (/api/v1/me/files…) against a real sshd through the gateway's SFTP
// pipeline: the same rights as `sftp -P 2222` (upload / download from core/access), the same
// FileTransfer rows, one Session row (kind sftp) per file-manager session, streamed bodies, and
// paths checked before they reach the asset.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { FileTransferEntity, SessionEntity, type Asset, type FileTransfer, type SystemUser, type User } from '../core/db/entities/index.ts';
import { startBastion, type Bastion } from './helpers/bastion.ts';
import { factories } from './helpers/factories.ts';
import { startSshd, sshdUnavailable, type Sshd } from './helpers/sshd.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { remotePathProblem } from '../server/routes/files.ts';
import { parseLoginTarget, shellQuote, targetCommands } from '../gateway/targetSyntax.ts';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { eventually } from './gatewayFixture.ts';

const skip = sshdUnavailable();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const PASSWORD = 'Files-pass-2024';
/** One user's upload bytes in flight (BASTION_UPLOAD_IN_FLIGHT_MB_PER_USER), below one upload's own 4 MiB. */
const UPLOAD_BUDGET_MB = 1;
const MiB = 1024 * 1024;

describe('web file manager API', { skip }, () => {
  let b: Bastion;
  let sshd: Sshd;
  let remote: string;
  let alice: ApiClient; // connect + upload + download
  let bob: ApiClient; // connect + download, no upload
  let carol: ApiClient; // nothing granted
  let users: Record<string, User>;
  let bobPermission: string;
  let web01: Asset;
  let su: SystemUser;

  before(async () => {
    sshd = await startSshd();
    // One session per user at once: each user here uses one file-manager session (one target).
    b = await startBastion({ env: { BASTION_UPLOAD_IN_FLIGHT_MB_PER_USER: String(UPLOAD_BUDGET_MB), BASTION_MAX_SESSIONS_PER_USER: '1' } });
    const f = factories(b.services);
    users = {
      alice: await f.user({ username: 'alice', password: PASSWORD }),
      bob: await f.user({ username: 'bob', password: PASSWORD }),
      carol: await f.user({ username: 'carol', password: PASSWORD }),
    };
    web01 = await f.asset({ name: 'web01', address: sshd.host, port: sshd.port });
    su = await f.systemUser({ name: 'app', username: sshd.username, password: sshd.password });
    await f.permission({ users: [users.alice!.id], assets: [web01.id], systemUsers: [su.id], actions: ['connect', 'upload', 'download'] });
    bobPermission = (await f.permission({ users: [users.bob!.id], assets: [web01.id], systemUsers: [su.id], actions: ['connect', 'download'] })).id;
    remote = makeTempDir('bastion-webfiles-');
    await execa('chown', [sshd.username, remote]);
    alice = await loggedIn(b.baseUrl, 'alice', PASSWORD);
    bob = await loggedIn(b.baseUrl, 'bob', PASSWORD);
    carol = await loggedIn(b.baseUrl, 'carol', PASSWORD);
  });

  after(async () => {
    await b?.stop();
    await sshd?.stop();
    await cleanup();
  });

  const q = (o: Record<string, string>) => '?' + new URLSearchParams({ asset: 'web01', ...o }).toString();
  const rows = async (user: string, path: string): Promise<FileTransfer[]> =>
    (await b.services.ds.getRepository(FileTransferEntity).find({ where: { username: user }, order: { createdAt: 'ASC' } })).filter((r) => r.path === path || r.targetPath === path);

  /** Runs `fn` with every FileTransfer row write delayed 300 ms (a slow database): answers must still come after their rows. */
  async function withSlowRows<T>(fn: () => Promise<T>): Promise<T> {
    const transfers = b.services.fileTransfers;
    const record = transfers.record.bind(transfers);
    transfers.record = async (...args: Parameters<typeof record>) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return record(...args);
    };
    try {
      return await fn();
    } finally {
      transfers.record = record;
    }
  }

  async function upload(c: ApiClient, path: string, data: Buffer | ReadableStream, headers: Record<string, string> = {}, extra: Record<string, string> = {}) {
    const res = await fetch(`${b.baseUrl}/api/v1/me/files/upload${q({ path, ...extra })}`, {
      method: 'PUT', body: data, headers: { 'content-type': 'application/octet-stream', cookie: c.cookie!, ...headers },
      ...(data instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);
    return { status: res.status, body: await res.json().catch(() => null) as { error?: { message: string }; size?: number } | null };
  }

  test('an upload under way stops once upload is revoked (connect kept): the partial file is removed, the row says why', async () => {
    const f = factories(b.services);
    const fred = await f.user({ username: 'fred', password: PASSWORD });
    await f.permission({ users: [fred.id], assets: [web01.id], systemUsers: [su.id], actions: ['connect'] });
    const grant = await f.permission({ users: [fred.id], assets: [web01.id], systemUsers: [su.id], actions: ['upload'] });
    const client = await loggedIn(b.baseUrl, 'fred', PASSWORD);
    const dir = makeTempDir('bastion-webfiles-revoke-up-');
    await execa('chown', [sshd.username, dir]);
    const path = join(dir, 'long-upload.bin');
    // One chunk, then the body waits: only the revocation can end the upload.
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) return new Promise<void>(() => undefined);
        sent = true;
        controller.enqueue(new Uint8Array(256 * 1024));
        return undefined;
      },
    });
    const uploading = upload(client, path, body, { 'content-length': String(32 * MiB) }).catch(() => null);
    await eventually(async () => existsSync(path), (v) => v);
    await b.services.permissions.update(SYSTEM_ACTOR, grant.id, { active: false });
    const [row] = await eventually(() => rows('fred', path), (r) => r.length > 0);
    assert.deepEqual([row?.operation, row?.ok, row?.message], ['upload', false, 'upload is no longer allowed to you on web01; the partial file was removed']);
    assert.equal(existsSync(path), false);
    void uploading;
  });

  test('a download under way stops once download is revoked (connect kept): the row says why', async () => {
    const f = factories(b.services);
    const erin = await f.user({ username: 'erin', password: PASSWORD });
    await f.permission({ users: [erin.id], assets: [web01.id], systemUsers: [su.id], actions: ['connect'] });
    const grant = await f.permission({ users: [erin.id], assets: [web01.id], systemUsers: [su.id], actions: ['download'] });
    const client = await loggedIn(b.baseUrl, 'erin', PASSWORD);
    // A directory of its own: the listing tests count what is in `remote`.
    const dir = makeTempDir('bastion-webfiles-revoke-');
    await execa('chown', [sshd.username, dir]);
    const path = join(dir, 'long-download.bin');
    writeFileSync(path, randomBytes(32 * MiB));
    await execa('chown', [sshd.username, path]);
    const res = await fetch(`${b.baseUrl}/api/v1/me/files/download${q({ path })}`, { headers: { cookie: client.cookie! } });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    assert.ok(((await reader.read()).value?.length ?? 0) > 0);
    // The browser reads no further: the gateway waits on it, so only the revocation can end the download.
    await b.services.permissions.update(SYSTEM_ACTOR, grant.id, { active: false });
    const [row] = await eventually(() => rows('erin', path), (r) => r.length > 0);
    assert.deepEqual([row?.operation, row?.ok, row?.message], ['download', false, 'download is no longer allowed to you on web01']);
    assert.ok((row?.size ?? 0) < 32 * MiB, `sent ${row?.size}`);
    await reader.cancel().catch(() => undefined);
  });

  test('upload, list, download: byte-exact both ways, streamed, with a FileTransfer row each and one sftp Session row', async () => {
    const data = randomBytes(8 * 1024 * 1024 + 12345);
    const path = join(remote, 'big.bin');
    const up = await upload(alice, path, data);
    assert.equal(up.status, 201, JSON.stringify(up.body));
    assert.equal(up.body?.size, data.length);
    assert.equal(sha256(readFileSync(path)), sha256(data));

    const list = await alice.get(`/me/files${q({ path: remote })}`);
    assert.equal(list.status, 200);
    assert.equal(list.body.path, remote);
    assert.deepEqual(list.body.entries.map((e: { name: string; type: string; size: number }) => [e.name, e.type, e.size]), [['big.bin', 'file', data.length]]);

    const res = await fetch(`${b.baseUrl}/api/v1/me/files/download${q({ path })}`, { headers: { cookie: alice.cookie! } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(data.length));
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="big.bin"; filename*=UTF-8''big.bin`);
    assert.equal(sha256(Buffer.from(await res.arrayBuffer())), sha256(data));

    const home = await alice.get(`/me/files${q({})}`);
    assert.equal(home.status, 200);
    assert.match(home.body.path, /^\//, 'no path: the system user\'s home');

    const transfers = await rows('alice', path);
    assert.deepEqual(transfers.map((r) => [r.operation, r.size, r.ok, r.systemUsername]), [['upload', data.length, true, sshd.username], ['download', data.length, true, sshd.username]]);
    const sessions = await b.services.ds.getRepository(SessionEntity).find({ where: { username: 'alice' } });
    assert.equal(sessions.length, 1, 'one file-manager session for every request');
    assert.equal(sessions[0]!.kind, 'sftp');
    assert.equal(sessions[0]!.channel, 'web');
    assert.equal(sessions[0]!.id, transfers[0]!.sessionId);
    assert.equal(sessions[0]!.status, 'active');
  });

  test('mkdir, rename and delete need upload and are recorded; an existing file is not replaced unless asked', async () => {
    const dir = join(remote, 'made');
    const made = await alice.post('/me/files/mkdir', { asset: 'web01', path: dir });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal((await upload(alice, join(remote, 'a.txt'), Buffer.from('one'))).status, 201);
    const moved = await alice.post('/me/files/rename', { asset: 'web01', from: join(remote, 'a.txt'), to: join(dir, 'b.txt') });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.equal(readFileSync(join(dir, 'b.txt'), 'utf8'), 'one');

    const again = await upload(alice, join(dir, 'b.txt'), Buffer.from('two'));
    assert.equal(again.status, 409);
    assert.equal(again.body!.error!.message, `${join(dir, "b.txt")} exists already; upload it again to replace it`);
    assert.equal(readFileSync(join(dir, 'b.txt'), 'utf8'), 'one', 'not replaced');
    assert.equal((await upload(alice, join(dir, 'b.txt'), Buffer.from('two'), {}, { overwrite: 'true' })).status, 201);
    assert.equal(readFileSync(join(dir, 'b.txt'), 'utf8'), 'two');

    const notEmpty = await alice.delete(`/me/files${q({ path: dir })}`);
    assert.equal(notEmpty.status, 409, 'a directory with files is not removed');
    assert.equal((await alice.delete(`/me/files${q({ path: join(dir, 'b.txt') })}`)).status, 204);
    assert.equal((await alice.delete(`/me/files${q({ path: dir })}`)).status, 204);
    assert.equal(existsSync(dir), false);
    const missing = await alice.delete(`/me/files${q({ path: dir })}`);
    assert.equal(missing.status, 404);

    const ops = (await b.services.ds.getRepository(FileTransferEntity).find({ where: { username: 'alice' }, order: { createdAt: 'ASC' } }))
      .filter((r) => r.path.startsWith(dir) || r.path === join(remote, 'a.txt')).map((r) => [r.operation, r.ok]);
    assert.deepEqual(ops, [['mkdir', true], ['upload', true], ['rename', true], ['upload', false], ['upload', true], ['rmdir', false], ['delete', true], ['rmdir', true]]);
  });

  test('an upload without the upload action is refused with a clear message and recorded (before the answer); the file is not written', async () => {
    const path = join(remote, 'refused.bin');
    // A slow database: the row must still be there when the refusal is answered, not a moment later.
    const r = await withSlowRows(() => upload(bob, path, randomBytes(100_000)));
    assert.equal(r.status, 403);
    assert.equal(r.body!.error!.message, `upload ${path}: upload is not allowed to you on web01`);
    assert.equal(existsSync(path), false);
    const transfers = await rows('bob', path);
    assert.deepEqual(transfers.map((t) => [t.operation, t.ok, t.message]), [['upload', false, 'upload is not allowed to you on web01']]);
    assert.equal((await bob.post('/me/files/mkdir', { asset: 'web01', path: join(remote, 'nope') })).status, 403);
    assert.equal(existsSync(join(remote, 'nope')), false);
    // What bob may do, he can.
    writeFileSync(join(remote, 'for-bob.txt'), 'hello bob');
    const dl = await fetch(`${b.baseUrl}/api/v1/me/files/download${q({ path: join(remote, 'for-bob.txt') })}`, { headers: { cookie: bob.cookie! } });
    assert.equal(await dl.text(), 'hello bob');
  });

  test('with a slow database, each answer comes after its row: mkdir, upload, a failed upload, rename, delete, download (its last bytes)', async () => {
    const dir = join(remote, 'slow-db');
    const file = join(dir, 'f.txt');
    const moved = join(dir, 'g.txt');
    // Each call, then at once the rows about its path: the row of the call just answered is there.
    const seen: Array<[string, string, boolean]> = [];
    const expectRow = async (path: string, operation: string, ok: boolean): Promise<void> => {
      const found = (await rows('alice', path)).map((r) => [r.operation, r.ok] as const);
      seen.push([operation, path, ok]);
      assert.deepEqual(found.at(-1), [operation, ok], `the ${operation} row of ${path} when its answer arrived; rows then: ${JSON.stringify(found)}`);
    };
    await withSlowRows(async () => {
      assert.equal((await alice.post('/me/files/mkdir', { asset: 'web01', path: dir })).status, 201);
      await expectRow(dir, 'mkdir', true);
      assert.equal((await upload(alice, file, Buffer.from('slow'))).status, 201);
      await expectRow(file, 'upload', true);
      assert.equal((await upload(alice, file, Buffer.from('again'))).status, 409);
      await expectRow(file, 'upload', false);
      assert.equal((await alice.post('/me/files/rename', { asset: 'web01', from: file, to: moved })).status, 200);
      await expectRow(moved, 'rename', true);
      const dl = await fetch(`${b.baseUrl}/api/v1/me/files/download${q({ path: moved })}`, { headers: { cookie: alice.cookie! } });
      assert.equal(await dl.text(), 'slow');
      await expectRow(moved, 'download', true);
      assert.equal((await rows('alice', moved)).at(-1)?.size, 4);
      // Many chunks: the last one is held back until the row is written.
      const big = join(dir, 'big.bin');
      const bigData = randomBytes(300 * 1024 + 7);
      assert.equal((await upload(alice, big, bigData)).status, 201);
      await expectRow(big, 'upload', true);
      const bigDl = await fetch(`${b.baseUrl}/api/v1/me/files/download${q({ path: big })}`, { headers: { cookie: alice.cookie! } });
      assert.ok(Buffer.from(await bigDl.arrayBuffer()).equals(bigData));
      await expectRow(big, 'download', true);
      assert.equal((await rows('alice', big)).at(-1)?.size, bigData.length);
      assert.equal((await alice.delete(`/me/files${q({ path: big })}`)).status, 204);
      await expectRow(big, 'delete', true);
      assert.equal((await alice.delete(`/me/files${q({ path: moved })}`)).status, 204);
      await expectRow(moved, 'delete', true);
      assert.equal((await alice.delete(`/me/files${q({ path: dir })}`)).status, 204);
      await expectRow(dir, 'rmdir', true);
    });
    assert.equal(seen.length, 10);
  });

  test('an operator without a grant gets 403 from every file route and no Session row', async () => {
    const path = join(remote, 'for-bob.txt');
    const answers = [
      await carol.get(`/me/files${q({ path: remote })}`),
      await carol.get(`/me/files/download${q({ path })}`),
      await carol.post('/me/files/mkdir', { asset: 'web01', path: join(remote, 'c') }),
      await carol.post('/me/files/rename', { asset: 'web01', from: path, to: join(remote, 'c') }),
      await carol.delete(`/me/files${q({ path })}`),
    ];
    const up = await upload(carol, join(remote, 'c.bin'), Buffer.from('x'));
    assert.deepEqual([...answers.map((a) => a.status), up.status], [403, 403, 403, 403, 403, 403]);
    assert.equal(answers[0]!.body.error.message, "no asset named 'web01' is granted to you");
    assert.equal(await b.services.ds.getRepository(SessionEntity).count({ where: { username: 'carol' } }), 0);
    assert.equal(existsSync(path), true);
    // Not logged in at all: 401.
    assert.equal((await fetch(`${b.baseUrl}/api/v1/me/files${q({ path: remote })}`)).status, 401);
  });

  test('paths are validated before they reach the asset: NUL, control characters, relative, . and .., empty names', async () => {
    assert.equal(remotePathProblem('/srv/a\u0000b', { names: false })?.message, 'may not hold NUL or other control characters');
    assert.equal(remotePathProblem('/srv/a\nb', { names: false })?.message, 'may not hold NUL or other control characters');
    assert.equal(remotePathProblem('srv/a', { names: false })?.message, 'must be absolute (start with /)');
    assert.equal(remotePathProblem('/srv/../etc/shadow', { names: false })?.message, 'may not hold . or .. components');
    assert.equal(remotePathProblem('/srv/./a', { names: false })?.message, 'may not hold . or .. components');
    assert.equal(remotePathProblem('/', { names: true })?.message, 'must end with the name of the file or directory');
    assert.equal(remotePathProblem('/srv/dir/', { names: true })?.message, 'must end with the name of the file or directory');
    assert.equal(remotePathProblem(`/${'é'.repeat(128)}`, { names: false })?.message, 'may not hold a name longer than 255 bytes');
    assert.equal(remotePathProblem('/srv/ünïcode name with spaces', { names: true }), null);
    assert.equal(remotePathProblem('/', { names: false }), null);

    const nul = await alice.get(`/me/files/download?asset=web01&path=${encodeURIComponent(join(remote, 'x\u0000y'))}`);
    assert.equal(nul.status, 400);
    assert.equal(nul.body.error.message, 'invalid path: may not hold NUL or other control characters');
    const dots = await alice.post('/me/files/mkdir', { asset: 'web01', path: `${remote}/../escape` });
    assert.equal(dots.status, 400);
    assert.equal(dots.body.error.message, 'invalid path: may not hold . or .. components');
    const up = await upload(alice, `${remote}/`, Buffer.from('x'));
    assert.equal(up.status, 400);
    assert.equal(up.body!.error!.message, 'invalid path: must end with the name of the file or directory');
    const unknown = await alice.get(`/me/files${q({ path: remote, extra: '1' })}`);
    assert.equal(unknown.status, 400);
  });

  test('an upload body must be application/octet-stream from this origin (the JSON rule\'s CSRF guard)', async () => {
    const path = join(remote, 'csrf.bin');
    const form = await upload(alice, path, Buffer.from('a=b'), { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 415);
    assert.equal(form.body!.error!.message, 'the request body must be application/octet-stream');
    const foreign = await upload(alice, path, Buffer.from('x'), { origin: 'https://evil.example' });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.body!.error!.message, 'cross-origin request refused');
    assert.equal(existsSync(path), false);
    const same = await upload(alice, path, Buffer.from('x'), { origin: b.baseUrl });
    assert.equal(same.status, 201);
  });

  test('My assets: one row per granted (asset, system user), favourites first then recently used, favourites kept per user', async () => {
    const f = factories(b.services);
    const node = await f.node({ name: 'databases' });
    const db01 = await b.services.assets.create(SYSTEM_ACTOR, { name: 'db01', address: '127.0.0.1', port: 1, nodes: [node.id], labels: ['prod'] });
    const dba = await f.systemUser({ name: 'dba', username: 'postgres', password: 'x', priority: 5 });
    const ops = await f.systemUser({ name: 'ops', username: 'ops', password: 'x', priority: 20 });
    await f.permission({ users: [users.alice!.id], assets: [db01.id], systemUsers: [dba.id, ops.id], actions: ['connect'] });
    const rowsOf = async (c: ApiClient) => {
      const r = await c.get('/me/targets');
      assert.equal(r.status, 200);
      return r.body as { items: { asset: { id: string; name: string; labels: string[]; nodes: string[] }; systemUser: { id: string; name: string }; actions: string[]; favourite: boolean; lastUsedAt: string | null; commands: { ssh: string; scp: string; sftp: string } }[]; nodes: { id: string; name: string }[] };
    };
    const port = b.config.sshPort;
    let mine = await rowsOf(alice);
    // web01 was used (the file manager's session): it comes first; then db01 as dba, then ops (priority).
    assert.deepEqual(mine.items.map((r) => [r.asset.name, r.systemUser.name, r.favourite, r.lastUsedAt !== null]), [['web01', 'app', false, true], ['db01', 'dba', false, false], ['db01', 'ops', false, false]]);
    assert.deepEqual(mine.items[0]!.actions, ['connect', 'download', 'upload']);
    assert.deepEqual(mine.items[0]!.commands, {
      ssh: `ssh -p ${port} alice@app@web01@127.0.0.1`, scp: `scp -P ${port} FILE alice@app@web01@127.0.0.1:/tmp/`, sftp: `sftp -P ${port} alice@app@web01@127.0.0.1`,
    });
    assert.deepEqual(mine.items[1]!.asset.labels, ['prod']);
    assert.deepEqual(mine.items[1]!.asset.nodes, [node.id]);
    assert.ok(mine.nodes.some((n) => n.id === node.id && n.name === 'databases'));

    assert.equal((await alice.request('PUT', `/me/favourites/${db01.id}/${ops.id}`, {})).status, 204);
    const again = await loggedIn(b.baseUrl, 'alice', PASSWORD);
    mine = await rowsOf(again);
    assert.deepEqual(mine.items.map((r) => [r.asset.name, r.systemUser.name, r.favourite]), [['db01', 'ops', true], ['web01', 'app', false], ['db01', 'dba', false]]);
    assert.equal((await alice.delete(`/me/favourites/${db01.id}/${ops.id}`)).status, 204);
    assert.equal((await rowsOf(alice)).items[0]!.asset.name, 'web01');

    // Nothing granted: no rows, and no favourite on someone else's asset.
    assert.deepEqual((await rowsOf(carol)).items, []);
    const refused = await carol.request('PUT', `/me/favourites/${db01.id}/${ops.id}`, {});
    assert.equal(refused.status, 403);
    // bob sees web01 only, with his own actions.
    assert.deepEqual((await rowsOf(bob)).items.map((r) => [r.asset.name, r.actions]), [['web01', ['connect', 'download']]]);
  });

  test('a permission withdrawn ends the file-manager session at once (rule 11); the next request is refused', async () => {
    const listing = await bob.get(`/me/files${q({ path: remote })}`);
    assert.equal(listing.status, 200);
    const open = await b.services.ds.getRepository(SessionEntity).findOneByOrFail({ username: 'bob', status: 'active' });
    await b.services.permissions.update(SYSTEM_ACTOR, bobPermission, { active: false });
    await waitFor(async () => (await b.services.ds.getRepository(SessionEntity).findOneByOrFail({ id: open.id })).status !== 'active');
    const ended = await b.services.ds.getRepository(SessionEntity).findOneByOrFail({ id: open.id });
    assert.equal(ended.status, 'terminated');
    assert.equal(ended.endReason, `your access to web01 as ${sshd.username} has been revoked or has expired`);
    const after = await bob.get(`/me/files${q({ path: remote })}`);
    assert.equal(after.status, 403);
    assert.equal(after.body.error.message, "no asset named 'web01' is granted to you");
    await b.services.permissions.update(SYSTEM_ACTOR, bobPermission, { active: true });
  });

  test('a user at the session limit (an SSH session open elsewhere) gets 409 with its reason from the file manager, and no Session row', async () => {
    const f = factories(b.services);
    const dave = await f.user({ username: 'dave', password: PASSWORD });
    await f.permission({ users: [dave.id], assets: [web01.id], systemUsers: [su.id], actions: ['connect', 'download'] });
    const api = await loggedIn(b.baseUrl, 'dave', PASSWORD);
    const ssh = await f.session({ user: dave, asset: web01, systemUser: su, kind: 'shell' });
    const refused = await api.get(`/me/files${q({ path: '/' })}`);
    assert.equal(refused.status, 409);
    assert.deepEqual(refused.body.error, { code: 'conflict', message: 'you already have 1 active session, the most allowed; end one first', details: { reason: 'session_limit_reached', limit: 1 } });
    assert.deepEqual((await b.services.ds.getRepository(SessionEntity).findBy({ userId: dave.id })).map((r) => r.id), [ssh.id]);
    await b.services.sessions.end(ssh.id, { status: 'closed', bytesIn: 0, bytesOut: 0 });
    assert.equal((await api.get(`/me/files${q({ path: '/' })}`)).status, 200);
  });

  test('one user\'s uploads at once share the per-user budget of bytes in flight, even while the asset stalls; all arrive byte-exact', async () => {
    const uploads = b.http!.files.uploads;
    const datas = [randomBytes(6 * MiB + 1), randomBytes(6 * MiB + 2), randomBytes(6 * MiB + 3)];
    const paths = datas.map((_, i) => join(remote, `budget-${i}.bin`));
    const FIRST = 64 * 1024;
    // Each body sends its first piece, then waits: the files are open at the asset before it stalls.
    let go!: () => void;
    const gate = new Promise<void>((r) => { go = r; });
    const body = (d: Buffer) => {
      let sent = 0;
      return new ReadableStream({
        async pull(c) {
          if (sent > 0) await gate;
          if (sent >= d.length) return c.close();
          const n = sent === 0 ? FIRST : 256 * 1024;
          c.enqueue(d.subarray(sent, sent + n));
          sent += n;
        },
      });
    };
    uploads.maxHeldByOneUser = 0;
    const running = Promise.all(datas.map((d, i) => upload(alice, paths[i]!, body(d))));
    await waitFor(() => paths.every((p) => existsSync(p) && statSync(p).size >= FIRST));
    const thaw = sshd.freezeConnections();
    try {
      go();
      // The uploads fill what the user may hold, and no more: they wait for the asset together.
      await waitFor(() => uploads.heldBy(users.alice!.id) >= UPLOAD_BUDGET_MB * MiB - 64 * 1024);
      assert.ok(uploads.maxHeldByOneUser <= UPLOAD_BUDGET_MB * MiB, `held ${uploads.maxHeldByOneUser}`);
    } finally {
      thaw();
    }
    assert.deepEqual((await running).map((r) => r.status), [201, 201, 201]);
    datas.forEach((d, i) => assert.equal(sha256(readFileSync(paths[i]!)), sha256(d), paths[i]));
    assert.ok(uploads.maxHeldByOneUser <= UPLOAD_BUDGET_MB * MiB, `held ${uploads.maxHeldByOneUser}`);
    assert.equal(uploads.heldBy(users.alice!.id), 0);
  });

  test('an upload cut off by the browser leaves no partial file and a row that says so', async () => {
    const path = join(remote, 'cancelled.bin');
    const controller = new AbortController();
    let sent = 0;
    const body = new ReadableStream({
      async pull(c) {
        if (sent >= 4 * 1024 * 1024) {
          // Enough is at the asset: the browser's user presses Cancel.
          await waitFor(() => existsSync(path));
          controller.abort();
          return;
        }
        sent += 256 * 1024;
        c.enqueue(randomBytes(256 * 1024));
      },
    });
    await fetch(`${b.baseUrl}/api/v1/me/files/upload${q({ path })}`, {
      method: 'PUT', body, signal: controller.signal, duplex: 'half',
      headers: { 'content-type': 'application/octet-stream', cookie: alice.cookie! },
    } as RequestInit).catch(() => null);
    await waitFor(async () => (await rows('alice', path)).length === 1);
    const [row] = await rows('alice', path);
    assert.equal(row!.operation, 'upload');
    assert.equal(row!.ok, false);
    assert.equal(row!.message, 'the upload was cancelled before it ended; the partial file was removed');
    assert.equal(existsSync(path), false);
  });
});

describe('My assets: rows per (asset, system user), commands, favourites and recent use', { skip }, () => {
  test('commands use the gateway\'s target syntax, shell-quoted, and parse back to the same target', () => {
    const t = { username: 'alice', systemUser: 'deploy', asset: 'web01' };
    assert.deepEqual(targetCommands(t, 'bastion.example', 2222), {
      ssh: 'ssh -p 2222 alice@deploy@web01@bastion.example',
      scp: 'scp -P 2222 FILE alice@deploy@web01@bastion.example:/tmp/',
      sftp: 'sftp -P 2222 alice@deploy@web01@bastion.example',
    });
    assert.equal(targetCommands({ username: 'alice', systemUser: null, asset: 'web01' }, 'b', 22).ssh, 'ssh alice@web01@b');
    const odd = targetCommands({ username: 'alice', systemUser: 'app', asset: "db 1; rm -rf ~ 'x'" }, 'b', 2222);
    assert.equal(odd.ssh, `ssh -p 2222 'alice@app@db 1; rm -rf ~ '\\''x'\\''@b'`);
    assert.equal(shellQuote(''), "''");
    const login = "alice@app@db 1; rm -rf ~ 'x'";
    assert.deepEqual(parseLoginTarget(login), { username: 'alice', systemUser: 'app', asset: "db 1; rm -rf ~ 'x'" });
  });
});

async function waitFor(check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}


