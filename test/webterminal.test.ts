// The web terminal's websocket (/ws/terminal): a shell on an asset from the browser, through the
// gateway's own channel pipeline — the same session row (channel 'web'), recording, command log,
// command filters, terminate and revocation as SSH — and the websocket's own rules: same origin,
// a grant to connect or 403 (rule 6 and the access rule), closed when privileges go (rule 11),
// and a dropped socket that reconnects to the same shell.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { ADMIN_PASSWORD } from './helpers/bastion.ts';
import { eventually, startWorld, type World } from './gatewayFixture.ts';
import { WebTerminal, upgradeStatus } from './helpers/webTerminal.ts';
import { REFUSED_OR_PROMPT } from './helpers/guardedShells.ts';

const PROMPT = /\$ (\x1b\[K)?$/;

describe('web terminal over the gateway pipeline', { skip: sshdUnavailable() }, () => {
  let w: World;
  let admin: ApiClient;
  let seq = 0;
  before(async () => {
    w = await startWorld({ http: true });
    admin = await loggedIn(w.bastion.baseUrl, 'admin', ADMIN_PASSWORD);
  });
  after(async () => { await w?.stop(); await cleanup(); });

  /** A fresh operator granted connect on web01, logged in over the API (the browser's cookie). */
  async function operator(grant = true): Promise<{ id: string; cookie: string; api: ApiClient }> {
    const password = `Web-term-${++seq}-pass`;
    const user = await w.f.user({ username: `webop${seq}`, password });
    if (grant) await w.f.permission({ users: [user.id], assets: [w.web01.id], systemUsers: [w.su.id] });
    const api = await loggedIn(w.bastion.baseUrl, user.username, password);
    return { id: user.id, cookie: api.cookie!, api };
  }

  async function shell(cookie: string): Promise<WebTerminal> {
    const t = await WebTerminal.open(w.bastion.baseUrl, cookie, { asset: 'web01', cols: 100, rows: 30 });
    await t.waitFor(PROMPT);
    return t;
  }

  /** What `asciinema cat` prints for a session's recording, fetched over the API as an auditor would. */
  async function asciinemaCat(sessionId: string): Promise<string> {
    const res = await fetch(`${w.bastion.baseUrl}/api/v1/sessions/${sessionId}/recording`, { headers: { cookie: admin.cookie! } });
    assert.equal(res.status, 200);
    const dir = makeTempDir('bastion-webcast-');
    const file = join(dir, 'session.cast');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const out = join(dir, 'out');
    // asciinema wants a terminal on /dev/tty: `script` gives it one.
    const r = await execa('script', ['-qec', `asciinema cat '${file}' > '${out}'`, '/dev/null'], { reject: false, timeout: 60_000 });
    assert.equal(r.exitCode, 0, `asciinema cat failed: ${r.stdout}${r.stderr}`);
    const { readFileSync } = await import('node:fs');
    return readFileSync(out, 'utf8');
  }

  test('an operator types a command and sees its output; the session, its recording and the command are in the API', async () => {
    const op = await operator();
    const t = await shell(op.cookie);
    const { id } = await t.control('session');
    await t.send('echo wt-$((6*7))\r', 'wt-42');
    // Running, recordings in a directory: the download gives the recording as far as it has come (on S3: 409, test/recording.s3.test.ts).
    const sofar = await eventually(() => admin.get(`/sessions/${id}/recording`), (r) => r.status === 200 && String(r.body).includes('wt-42'));
    assert.equal(JSON.parse(String(sofar.body).split('\n')[0]!).version, 2);
    t.resize(120, 40);
    await t.send('stty size\r', '40 120');
    await t.send('exit\r');
    const exit = await t.control('exit');
    assert.deepEqual(exit, { type: 'exit', status: 0, signal: null, reason: null });
    await t.closedWithin();
    assert.equal(t.closeCode, 1000);
    const row = await eventually(() => admin.get(`/sessions/${id}`), (r) => r.body.status !== 'active');
    assert.equal(row.status, 200);
    assert.equal(row.body.kind, 'shell');
    assert.equal(row.body.channel, 'web');
    assert.equal(row.body.status, 'closed');
    assert.equal(row.body.user.username, `webop${seq}`);
    assert.equal(row.body.asset.name, 'web01');
    assert.equal(row.body.systemUser.username, w.su.username);
    assert.equal(row.body.clientAddress, '127.0.0.1');
    assert.equal(row.body.recordingUrl, `/api/v1/sessions/${id}/recording`);
    assert.match(await asciinemaCat(id), /wt-42/);
    const commands = await eventually(() => admin.get(`/commands?search=${encodeURIComponent('wt-$((6*7))')}`), (r) => r.body.items?.length === 1);
    assert.equal(commands.body.items[0].input, 'echo wt-$((6*7))');
    assert.equal(commands.body.items[0].session, id);
  });

  test('a deny filter refuses a command in the web terminal with the SSH message, and it does not run', async () => {
    const op = await operator();
    const marker = `/tmp/bastion-webterm-${process.pid}-denied`;
    await w.bastion.services.commandFilters.create(SYSTEM_ACTOR, { name: 'no-touch-web', kind: 'commands', pattern: 'touch', action: 'deny', users: [op.id] });
    const t = await shell(op.cookie);
    // The fresh prompt behind the guard's Ctrl-C first: keys that reach bash while it handles that SIGINT can be lost.
    await t.send(`touch ${marker}\r`, REFUSED_OR_PROMPT);
    assert.match(t.output, /\[bastion\] command refused by filter 'no-touch-web'/);
    await t.send('echo still-$((2+3))\r', 'still-5');
    assert.equal(existsSync(marker), false, 'the refused command ran');
    t.ws.close();
  });

  test("a refused line is erased from a shell that ignores Ctrl-C (trap '' INT): the next Enter runs none of it", async () => {
    const op = await operator();
    const marker = `/tmp/bastion-webterm-${process.pid}-trapped`;
    await w.bastion.services.commandFilters.create(SYSTEM_ACTOR, { name: 'no-touch-trap', kind: 'commands', pattern: 'touch', action: 'deny', users: [op.id] });
    const t = await shell(op.cookie);
    await t.send("trap '' INT\r", PROMPT);
    await t.send(`touch ${marker}\r`, "[bastion] command refused by filter 'no-touch-trap'");
    await t.send('\r', PROMPT);
    await t.send('echo after-$((2+3))\r', 'after-5');
    assert.equal(existsSync(marker), false, 'the refused line ran on the next Enter');
    t.ws.close();
  });

  test("a line the operator interrupted in a shell that ignores Ctrl-C is checked at the next Enter and refused", async () => {
    const op = await operator();
    const marker = `/tmp/bastion-webterm-${process.pid}-interrupted`;
    await w.bastion.services.commandFilters.create(SYSTEM_ACTOR, { name: 'no-touch-interrupted', kind: 'commands', pattern: 'touch', action: 'deny', users: [op.id] });
    const t = await shell(op.cookie);
    await t.send("trap '' INT\r", PROMPT);
    await t.send(`touch ${marker}`, marker);
    // bash ignores the Ctrl-C, keeps the line and shows nothing.
    await t.send('\x03');
    await t.send('\r', /no-touch-interrupted|\$ $/);
    await t.send('echo after-$((3+4))\r', 'after-7');
    assert.equal(existsSync(marker), false, 'the line kept after Ctrl-C ran on the next Enter');
    assert.match(t.output, /\[bastion\] command refused by filter 'no-touch-interrupted'/);
    t.ws.close();
  });

  test('a line whose Enter the shell did not take (rebound) is read from the screen at Ctrl-J and refused', async () => {
    const op = await operator();
    const marker = `/tmp/bastion-webterm-${process.pid}-rebound`;
    await w.bastion.services.commandFilters.create(SYSTEM_ACTOR, { name: 'no-touch-rebound', kind: 'commands', pattern: 'touch', action: 'deny', users: [op.id] });
    const t = await shell(op.cookie);
    await t.send(`bind '"\\C-m": end-of-line'\r`, PROMPT);
    await t.send('\r');
    await t.send('tou\t', /touch $/);
    await t.send(` ${marker}\n`, REFUSED_OR_PROMPT);
    await t.send('echo after-$((4+4))\n', 'after-8');
    assert.equal(existsSync(marker), false, 'the completed line ran at Ctrl-J');
    assert.match(t.output, /\[bastion\] command refused by filter 'no-touch-rebound'/);
    t.ws.close();
  });

  test('an admin terminates it: the terminal says so and the exit frame names who', async () => {
    const op = await operator();
    const t = await shell(op.cookie);
    const { id } = await t.control('session');
    const res = await admin.post(`/sessions/${id}/terminate`);
    assert.equal(res.status, 202);
    await t.waitFor('session ended: terminated by admin');
    const exit = await t.control('exit');
    assert.equal(exit.reason, 'terminated by admin');
    await t.closedWithin();
    const row = await eventually(() => admin.get(`/sessions/${id}`), (r) => r.body.status !== 'active');
    assert.equal(row.body.status, 'terminated');
    assert.equal(row.body.terminatedBy, 'admin');
  });

  test('Ctrl-C, Tab, arrows and Ctrl-D reach the shell as typed', async () => {
    const op = await operator();
    const t = await shell(op.cookie);
    // Ctrl-C once the program runs (ready-2 printed): sent earlier, bash may take it before it starts the program.
    await t.send("sh -c 'echo ready-$((1+1)); exec sleep 30'\r", /^ready-2\r?$/m);
    await t.send('\x03', /\^C[\s\S]*\$ $/);
    // Tab completes, Up recalls the last line.
    await t.send('ech\t', 'echo ');
    // Up only once the next prompt is shown: sent earlier, the tty (not yet back in readline) echoes ^[[A.
    await t.send('tab-$((3*3))\r', /tab-9\r?\n[\s\S]*\$ $/);
    await t.send('\x1b[A', 'echo tab-$((3*3))');
    await t.send('\r', /^tab-9\r?$/m);
    await t.send('\x04');
    const exit = await t.control('exit');
    assert.equal(exit.reason, null);
    assert.equal(typeof exit.status, 'number');
    await t.closedWithin();
    assert.equal(t.closeCode, 1000);
  });

  test('rule 3: only keystrokes and a bounded resize reach the asset; other messages and environment are ignored', async () => {
    const op = await operator();
    const t = await shell(op.cookie);
    t.resize(5000, 5);
    t.ws.send(JSON.stringify({ type: 'env', name: 'LD_PRELOAD', value: '/tmp/evil.so' }));
    t.ws.send(JSON.stringify({ type: 'signal', name: 'KILL' }));
    t.ws.send('not json');
    await t.send('stty size; echo "pre=${LD_PRELOAD:-unset}"\r', /^pre=unset\r?$/m);
    assert.match(t.output, /^30 100\r?$/m);
    t.ws.close(1000);
  });

  test('rule 11: a permission disabled while the web terminal runs ends it, with the reason on the screen', async () => {
    const op = await operator(false);
    const perm = await w.f.permission({ users: [op.id], assets: [w.web01.id], systemUsers: [w.su.id] });
    const t = await shell(op.cookie);
    const { id } = await t.control('session');
    assert.equal((await admin.patch(`/permissions/${perm.id}`, { active: false })).status, 200);
    await t.waitFor('session ended: your access to web01');
    await t.closedWithin();
    const row = await eventually(() => admin.get(`/sessions/${id}`), (r) => r.body.status !== 'active');
    assert.equal(row.body.status, 'terminated');
    assert.equal(row.body.terminatedBy, 'access');
  });

  test('without a grant the websocket answers 403, as for an unknown asset; without a cookie 401', async () => {
    const op = await operator(false);
    assert.equal(await upgradeStatus(w.bastion.baseUrl, { asset: 'web01' }, { cookie: op.cookie, origin: w.bastion.baseUrl }), 403);
    assert.equal(await upgradeStatus(w.bastion.baseUrl, { asset: 'no-such-asset' }, { cookie: op.cookie, origin: w.bastion.baseUrl }), 403);
    assert.equal(await upgradeStatus(w.bastion.baseUrl, { asset: 'web01' }, { origin: w.bastion.baseUrl }), 401);
  });

  test('a cross-origin upgrade is refused, even with a valid cookie and grant', async () => {
    const op = await operator();
    assert.equal(await upgradeStatus(w.bastion.baseUrl, { asset: 'web01' }, { cookie: op.cookie, origin: 'http://evil.example' }), 403);
    assert.equal(await upgradeStatus(w.bastion.baseUrl, { asset: 'web01' }, { cookie: op.cookie, origin: 'null' }), 403);
  });

  test("a revoked user's web terminal is closed (1008) and the session ends", async () => {
    const op = await operator();
    const t = await shell(op.cookie);
    const { id } = await t.control('session');
    const res = await admin.post(`/users/${op.id}/lock`);
    assert.equal(res.status, 200);
    await t.closedWithin();
    assert.equal(t.closeCode, 1008);
    const row = await eventually(() => admin.get(`/sessions/${id}`), (r) => r.body.status !== 'active');
    assert.notEqual(row.body.status, 'active');
  });

  test('logging out closes the web terminal (the socket is authorized again when its web session goes)', async () => {
    const op = await operator();
    const t = await shell(op.cookie);
    const { id } = await t.control('session');
    assert.equal((await op.api.post('/auth/logout')).status, 204);
    // The logout reaches open sockets on the next privilege check (a change to users, or the timer).
    await w.f.user({ username: `nudge${++seq}`, password: 'Nudge-pass-1234' });
    await t.closedWithin();
    assert.equal(t.closeCode, 1008);
    const row = await eventually(() => admin.get(`/sessions/${id}`), (r) => r.body.status !== 'active');
    assert.notEqual(row.body.status, 'active');
  });

  test('a dropped websocket reconnects to the same shell; another user cannot take it over', async () => {
    const op = await operator();
    const other = await operator();
    const t = await shell(op.cookie);
    const { resume } = await t.control('ready');
    const { id } = await t.control('session');
    await t.send('X=kept-$((5*5))\r', PROMPT);
    t.ws.terminate();
    await t.closedWithin();
    assert.equal(await upgradeStatus(w.bastion.baseUrl, { resume }, { cookie: other.cookie, origin: w.bastion.baseUrl }), 404);
    const back = await WebTerminal.open(w.bastion.baseUrl, op.cookie, { resume });
    await back.control('ready');
    await back.send('echo $X\r', 'kept-25');
    assert.equal((await admin.get(`/sessions/${id}`)).body.status, 'active');
    await back.send('exit\r');
    await back.control('exit');
  });

  test('a system user without a stored secret is asked for in the terminal, as over SSH', async () => {
    const op = await operator(false);
    const manual = await w.f.systemUser({ name: 'manual', username: w.sshd.username, loginMode: 'manual', priority: 5 });
    await w.f.permission({ users: [op.id], assets: [w.web01.id], systemUsers: [manual.id] });
    const t = await WebTerminal.open(w.bastion.baseUrl, op.cookie, { asset: 'web01', systemUser: 'manual' });
    await t.waitFor(`${w.sshd.username}@web01's password: `);
    await t.send(`${w.sshd.password}\r`, PROMPT);
    await t.send('echo manual-$((7*6))\r', 'manual-42');
    assert.doesNotMatch(t.output, new RegExp(w.sshd.password), 'the typed password was echoed');
    t.ws.close();
  });
});
