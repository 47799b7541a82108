// Transfers folded into their shell (issue 15 item 5): real sessions through the gateway — a
// shell, scp in both its modes, sftp, an rsync, a plain exec, another operator's sftp — and the
// exact grouping the sessions API gives them (core/audit/transferFolding.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { SessionEntity, type Session } from '../core/db/entities/index.ts';
import { FOLD_GAP_MS } from '../core/audit/transferFolding.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { ADMIN_PASSWORD, startBastion } from './helpers/bastion.ts';
import { factories } from './helpers/factories.ts';
import { startPostgres } from './helpers/postgres.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { opensshScp, opensshSftp, rsync, type Endpoint } from './helpers/clients.ts';
import { ALICE_PASSWORD, eventually, openShell, ssh2Exec, ssh2Login, startWorld, type World } from './gatewayFixture.ts';

const skip = sshdUnavailable();

interface ApiSession { id: string; kind: string; transfers: number; transferOnly: boolean; folded?: ApiSession[]; foldedInto?: string | null }

let w: World;
let api: ApiClient;
let remote: string;
/** The sessions this file made, by what they were. */
const ids: Record<string, string> = {};

async function newSession(before: Set<string>): Promise<Session> {
  const rows = await eventually(
    () => w.bastion.services.ds.getRepository(SessionEntity).find(),
    (r) => r.some((s) => !before.has(s.id) && s.status !== 'active'),
  );
  return rows.find((s) => !before.has(s.id))!;
}

async function known(): Promise<Set<string>> {
  return new Set((await w.bastion.services.ds.getRepository(SessionEntity).find()).map((s) => s.id));
}

/** Runs `act`, which makes one session, and names it. */
async function made(name: string, act: () => Promise<{ exitCode: number | undefined | null; stderr: string }>): Promise<void> {
  const seen = await known();
  const r = await act();
  assert.equal(r.exitCode, 0, r.stderr);
  ids[name] = (await newSession(seen)).id;
}

before(async () => {
  if (skip) return;
  w = await startWorld({ http: true, actions: ['connect', 'upload', 'download'] });
  api = await loggedIn(w.bastion.baseUrl, 'admin', ADMIN_PASSWORD);
  remote = makeTempDir('bastion-fold-remote-');
  await execa('chown', [w.sshd.username, remote]);
  const local = makeTempDir('bastion-fold-local-');
  writeFileSync(join(local, 'a.txt'), 'alpha\n');
  const alice: Endpoint = { port: w.gw.port, user: 'alice@web01', password: ALICE_PASSWORD, hostKeys: [] };

  // The shell stays open while the files move: they belong to it.
  const seen = await known();
  const client = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
  const screen = await openShell(client);
  await screen.waitFor(/\$ $/);
  const shellRow = await eventually(async () => (await w.bastion.services.ds.getRepository(SessionEntity).find()).find((s) => !seen.has(s.id)), (s) => s !== undefined);
  ids.shell = shellRow!.id;
  await made('scp', () => opensshScp(alice, join(local, 'a.txt'), `:${remote}/a.txt`));
  await made('scpLegacy', () => opensshScp(alice, join(local, 'a.txt'), `:${remote}/b.txt`, ['-O']));
  await made('exec', async () => {
    const r = await ssh2Exec(client, 'true');
    return { exitCode: r.code, stderr: r.stderr };
  });
  client.end();
  await eventually(async () => (await w.bastion.services.ds.getRepository(SessionEntity).findOneBy({ id: ids.shell! }))?.status, (st) => st === 'closed');
  // Right after the shell ended: still part of it.
  await made('sftp', () => opensshSftp(alice, [`get ${remote}/a.txt ${join(local, 'back.txt')}`]));
  await made('rsync', () => rsync(alice, [join(local, 'a.txt'), `:${remote}/c.txt`]));
  // Another operator on the same asset and system user: not alice's shell.
  const bob = await w.f.user({ username: 'bob', password: 'Bob-the-builder-7' });
  await w.f.permission({ users: [bob.id], assets: [w.web01.id], systemUsers: [w.su.id], actions: ['connect', 'download'] });
  await made('bobSftp', () => opensshSftp({ ...alice, user: 'bob@web01', password: 'Bob-the-builder-7' }, [`get ${remote}/a.txt ${join(local, 'bob.txt')}`]));
});

after(async () => {
  await w?.stop();
  await cleanup();
});

const brief = (s: ApiSession): unknown => ({ id: s.id, kind: s.kind, transfers: s.transfers, transferOnly: s.transferOnly, ...(s.folded ? { folded: s.folded.map(brief) } : {}) });
const named = (name: string) => ids[name]!;

test('fold=true: scp, legacy scp, sftp and rsync of alice go under her shell; her exec and bob\'s sftp stay on their own', { skip }, async () => {
  const r = await api.get('/sessions?fold=true');
  assert.equal(r.status, 200);
  assert.equal(r.body.total, 3);
  assert.deepEqual(r.body.items.map(brief), [
    { id: named('bobSftp'), kind: 'sftp', transfers: 1, transferOnly: true, folded: [] },
    { id: named('exec'), kind: 'exec', transfers: 0, transferOnly: false, folded: [] },
    {
      id: named('shell'), kind: 'shell', transfers: 0, transferOnly: false,
      folded: [
        { id: named('scp'), kind: 'sftp', transfers: 1, transferOnly: true },
        { id: named('scpLegacy'), kind: 'exec', transfers: 1, transferOnly: true },
        { id: named('sftp'), kind: 'sftp', transfers: 1, transferOnly: true },
        { id: named('rsync'), kind: 'exec', transfers: 1, transferOnly: true },
      ],
    },
  ]);
  // Unfolded (the default, and CSV): every session is its own row.
  const flat = await api.get('/sessions');
  assert.equal(flat.body.total, 7);
  assert.equal(flat.body.items[0].folded, undefined);
  // A kind filter lists what it names, folded or not.
  assert.deepEqual((await api.get('/sessions?fold=true&kind=sftp')).body.items.map((s: ApiSession) => s.id), [named('bobSftp'), named('sftp'), named('scp')]);
});

test('the detail of the shell lists its folded sessions, and their transfers with its own; a folded session names its shell', { skip }, async () => {
  const shell = (await api.get(`/sessions/${named('shell')}`)).body as ApiSession;
  assert.deepEqual(shell.folded!.map((s) => s.id), ['scp', 'scpLegacy', 'sftp', 'rsync'].map(named));
  assert.equal(shell.foldedInto, null);
  assert.equal((await api.get(`/sessions/${named('scpLegacy')}`)).body.foldedInto, named('shell'));
  assert.equal((await api.get(`/sessions/${named('bobSftp')}`)).body.foldedInto, null);
  assert.equal((await api.get(`/sessions/${named('exec')}`)).body.foldedInto, null);
  const t = await api.get(`/sessions/${named('shell')}/transfers`);
  assert.equal(t.status, 200);
  const rows = (t.body.items as { sessionId: string; operation: string; path: string; size: number; ok: boolean }[])
    .map((x) => [x.sessionId, x.operation, x.path, x.ok]).sort((a, b) => `${a[2]} ${a[1]}`.localeCompare(`${b[2]} ${b[1]}`));
  assert.deepEqual(rows, [
    [named('sftp'), 'download', `${remote}/a.txt`, true],
    [named('scp'), 'upload', `${remote}/a.txt`, true],
    [named('scpLegacy'), 'upload', `${remote}/b.txt`, true],
    [named('rsync'), 'upload', `${remote}/c.txt`, true],
  ]);
  assert.equal(t.body.total, 4);
  assert.equal((await api.get(`/sessions/${named('bobSftp')}/transfers`)).body.total, 1);
});

test('the filters the list shows apply to the shell too: with a range that leaves the shell out, its transfers are listed on their own', { skip }, async () => {
  const shell = (await api.get(`/sessions/${named('shell')}`)).body as { startedAt: string };
  const after = new Date(Date.parse(shell.startedAt) + 1).toISOString();
  const r = await api.get(`/sessions?fold=true&from=${encodeURIComponent(after)}`);
  assert.deepEqual(r.body.items.map((s: ApiSession) => s.id).sort(), ['bobSftp', 'exec', 'scp', 'scpLegacy', 'sftp', 'rsync'].map(named).sort());
});

test('a transfer that starts more than the gap after the shell ended is not folded', { skip }, async () => {
  const repo = w.bastion.services.ds.getRepository(SessionEntity);
  const rsyncRow = (await repo.findOneBy({ id: named('rsync') }))!;
  const shellRow = (await repo.findOneBy({ id: named('shell') }))!;
  const late = new Date(shellRow.endedAt!.getTime() + FOLD_GAP_MS + 1000);
  await repo.update({ id: rsyncRow.id }, { startedAt: late, endedAt: new Date(late.getTime() + 1000) });
  try {
    const r = await api.get('/sessions?fold=true');
    assert.deepEqual(r.body.items.map((s: ApiSession) => [s.id, (s.folded ?? []).length]), [
      [named('rsync'), 0], [named('bobSftp'), 0], [named('exec'), 0], [named('shell'), 3],
    ]);
    assert.equal((await api.get(`/sessions/${named('rsync')}`)).body.foldedInto, null);
  } finally {
    await repo.update({ id: rsyncRow.id }, { startedAt: rsyncRow.startedAt, endedAt: rsyncRow.endedAt });
  }
});

test('the same rule on PostgreSQL: the shell listed, its transfer folded under it, the transfer rows of both', async (t) => {
  const pg = await startPostgres();
  if ('skip' in pg) return t.skip(pg.skip);
  const b = await startBastion({ env: { DATABASE_URL: pg.url }, http: false });
  try {
    const f = factories(b.services);
    const on = { user: await f.user(), asset: await f.asset(), systemUser: await f.systemUser() };
    const shell = await f.session({ ...on, kind: 'shell' });
    const scp = await f.session({ ...on, kind: 'exec', transfers: [{ operation: 'upload', path: '/srv/x', size: 1, ok: true }], end: { status: 'closed', bytesIn: 1, bytesOut: 0 } });
    const filters = { active: true, from: new Date(shell.startedAt.getTime() - 1000) };
    const page = await b.services.sessions.list({ ...filters, fold: true });
    assert.deepEqual(page.items.map((s) => s.id), [shell.id]);
    assert.deepEqual((await b.services.sessions.foldedUnder(page.items, filters)).get(shell.id)?.map((s) => s.id), [scp.id]);
    assert.equal((await b.services.sessions.foldedInto(scp, true))?.id, shell.id);
    assert.equal((await b.services.fileTransfers.list({ sessions: [shell.id, scp.id] })).total, 1);
  } finally {
    await b.stop();
    await pg.stop();
  }
});
