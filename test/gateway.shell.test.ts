// Interactive use: the menu (real OpenSSH with -tt, and ssh2 with chosen window sizes),
// shells with a PTY, manual login mode, window changes, and how live sessions end
// (rule 11, idle timeout, per-user limit, graceful shutdown).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { CommandEntity, SessionEntity, type Session, type User } from '../core/db/entities/index.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { startGateway } from '../gateway/index.ts';
import { ALICE_PASSWORD, QUIET, eventually, inProcessOnly, openShell, sshPassword, ssh2Exec, ssh2Login, startWorld, within, type World } from './gatewayFixture.ts';
import { recordingFile } from './helpers/recordings.ts';
import { loginsHeld } from '../core/audit/loginsHeld.ts';

const skip = sshdUnavailable();
const PROMPT = /\$ $/m;
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;?]*[a-zA-Z]|\x1b\][^\x07]*\x07/g, '');

describe('SSH gateway: menu and interactive shells', { skip }, () => {
  let w: World;
  let seq = 0;
  const s = () => w.bastion.services;

  async function operator(opts: { systemUsers?: string[]; assets?: string[] } = {}): Promise<User & { password: string }> {
    const password = `Shell-pass-${++seq}-xyz`;
    const user = await w.f.user({ username: `sh${seq}`, password });
    await w.f.permission({ users: [user.id], assets: opts.assets ?? [w.web01.id], systemUsers: opts.systemUsers ?? [w.su.id] });
    return Object.assign(user, { password });
  }
  const login = (port: number, user: { username: string; password: string }, target = '') =>
    ssh2Login(port, { username: `${user.username}${target ? `@${target}` : ''}`, password: user.password });
  async function settled(userId: string, count = 1): Promise<Session[]> {
    return eventually(() => s().ds.getRepository(SessionEntity).find({ where: { userId }, order: { startedAt: 'ASC' } }), (r) => r.length >= count && r.every((x) => x.status !== 'active'));
  }

  before(async () => {
    w = await startWorld();
  });
  after(async () => {
    await w?.stop();
    await cleanup();
  });

  test('OpenSSH -tt: the menu lists the asset, a number connects, exit returns to the menu, q quits', async () => {
    const dir = makeTempDir('bastion-gw-key-');
    const keyPath = join(dir, 'id_ed25519');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyPath]);
    await s().userKeys.add(SYSTEM_ACTOR, w.alice.id, { publicKey: readFileSync(`${keyPath}.pub`, 'utf8') });
    const child = spawn('ssh', ['-tt', ...QUIET, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', keyPath, '-p', String(w.gw.port), 'alice@127.0.0.1'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const waitFor = (re: RegExp, from: number) => eventually(async () => out.slice(from), (t) => re.test(t), 15_000).then((t) => {
      assert.match(t, re, `screen:\n${out}`);
      return t;
    });
    try {
      const menu = await waitFor(/alice@bastion.*> $/m, 0);
      assert.match(stripAnsi(menu), /1 asset granted to alice/);
      assert.match(stripAnsi(menu), new RegExp(`1\\s+web01\\s+127\\.0\\.0\\.1:${w.sshd.port}\\s+the test web server`));
      let from = out.length;
      child.stdin.write('1\r');
      await waitFor(PROMPT, from);
      from = out.length;
      child.stdin.write('id -un\r');
      await waitFor(new RegExp(`${w.sshd.username}\\r\\n`), from);
      from = out.length;
      child.stdin.write('exit\r');
      await waitFor(/Connection to web01 closed\.[\s\S]*alice@bastion.*> $/, from);
      child.stdin.write('q\r');
      assert.equal(await within(exited, 15_000, () => `ssh did not exit after q; screen:\n${out}`), 0);
    } finally {
      child.kill();
    }
    const [row] = await settled(w.alice.id);
    assert.equal(row!.kind, 'shell');
    assert.equal(row!.status, 'closed');
    assert.ok(row!.bytesIn > 0 && row!.bytesOut > 0);
    const file = recordingFile(s(), row!);
    assert.ok(file, 'the shell is recorded');
    const cast = readFileSync(file, 'utf8').split('\n');
    assert.equal(JSON.parse(cast[0]!).version, 2);
    assert.ok(cast.slice(1).some((l) => l.includes(w.sshd.username)), 'the output is in the recording');
    const commands = await eventually(() => s().ds.getRepository(CommandEntity).findBy({ sessionId: row!.id }), (c) => c.some((x) => x.input === 'id -un'));
    assert.ok(commands.some((c) => c.input === 'id -un'), `commands: ${commands.map((c) => c.input).join(' | ')}`);
  });

  test('a shell without a PTY (ssh -T, ssh host bash): each line sent on stdin is in the command log, with its output', async () => {
    const op = await operator();
    const client = await login(w.gw.port, op, 'web01');
    const commandsOf = async (sessionId: string, count: number) => eventually(
      () => s().ds.getRepository(CommandEntity).find({ where: { sessionId }, order: { offsetMs: 'ASC', createdAt: 'ASC' } }),
      (c) => c.length >= count,
    );
    try {
      // ssh -T: lines sent one at a time, each after the output of the one before.
      const shell = await new Promise<import('ssh2').ClientChannel>((resolve, reject) => client.shell(false, (err, st) => (err ? reject(err) : resolve(st))));
      let out = '';
      shell.on('data', (c: Buffer) => (out += c.toString()));
      shell.stderr.resume();
      const closed = new Promise((resolve) => shell.on('close', resolve));
      shell.write('echo one-$((6*7))\n');
      await eventually(async () => out, (t) => t.includes('one-42'));
      shell.write('\n \nid -un\n');
      await eventually(async () => out, (t) => t.includes(w.sshd.username));
      shell.end('exit 0\n');
      await closed;
    } finally {
      client.end();
    }
    const [row] = await settled(op.id);
    assert.equal(row!.kind, 'shell');
    const rows = await commandsOf(row!.id, 3);
    assert.deepEqual(rows.map((c) => [c.input, c.output, c.risk, c.username, c.assetName, c.systemUsername]), [
      ['echo one-$((6*7))', 'one-42\n', 'normal', op.username, 'web01', w.su.username],
      ['id -un', `${w.sshd.username}\n`, 'normal', op.username, 'web01', w.su.username],
      ['exit 0', '', 'normal', op.username, 'web01', w.su.username],
    ]);
    assert.ok(rows.every((c) => c.userId === op.id && c.offsetMs >= 0));
    // `ssh host bash` with a script piped in (real OpenSSH): the exec command, then each line; the output goes to the last line sent with it.
    const r = await sshPassword(w.gw.port, `${op.username}@web01`, op.password, ['bash'], { input: 'echo two-$((3*3))\nuname -s\n' });
    assert.equal(r.exitCode, 0, String(r.stderr));
    const [, exec] = await settled(op.id, 2);
    const lines = await commandsOf(exec!.id, 3);
    assert.deepEqual(lines.map((c) => c.input), ['bash', 'echo two-$((3*3))', 'uname -s']);
    assert.match(lines[2]!.output, /two-9\nLinux/);
  });

  test('a bad name or number in the menu prints one line and the menu goes on; h helps; Up/Down recall; Ctrl-D quits', async () => {
    const op = await operator();
    const client = await login(w.gw.port, op);
    try {
      const screen = await openShell(client);
      await screen.waitFor(/bastion.*> $/);
      const bad = await screen.send('nosuch\r', /> $/);
      assert.match(bad, /no asset named 'nosuch' is granted to you\r\n/);
      const badNumber = await screen.send('999\r', /> $/);
      assert.match(badNumber, /no asset number 999 in the list/);
      const help = await screen.send('h\r', /> $/);
      assert.match(help, /\/text/);
      // Up/Down walk what was typed here (ESC [ A, or ESC O A in application cursor mode).
      const recalled = await screen.send('\x1b[A\x1bOA\x1b[A\r', /> $/);
      assert.match(recalled, /no asset named 'nosuch' is granted to you/);
      const draft = await screen.send('xyz\x1b[A\x1b[B\r', /> $/);
      assert.match(draft, /no asset named 'xyz' is granted to you/);
      const exit = new Promise<number>((resolve) => screen.stream.on('exit', (code: number) => resolve(code)));
      screen.stream.write('\x04');
      assert.equal(await exit, 0);
    } finally {
      client.end();
    }
  });

  test('the menu pages and searches 45 assets and fits the window, also after a resize', async () => {
    const assets = [];
    for (let i = 0; i < 45; i++) assets.push((await w.f.asset({ name: `node-${String(i).padStart(2, '0')}`, address: `10.9.0.${i + 1}`, comment: `rack ${i % 3} with a rather long comment that must be cut to fit` })).id);
    const op = await operator({ assets });
    const client = await login(w.gw.port, op);
    try {
      const screen = await openShell(client, { rows: 12, cols: 60 });
      const first = stripAnsi(await screen.waitFor(/> $/));
      assert.match(first, /45 assets granted to sh\d+ — page 1\/7/);
      assert.match(first, /\n7\s+node-06/);
      assert.doesNotMatch(first, /node-07/);
      for (const line of first.split('\r\n')) assert.ok([...line].length <= 60, `too wide: ${line}`);
      const next = stripAnsi(await screen.send('n\r', /> $/));
      assert.match(next, /page 2\/7/);
      assert.match(next, /\n 8\s+node-07/);
      const prev = stripAnsi(await screen.send('p\r', /> $/));
      assert.match(prev, /page 1\/7/);
      const found = stripAnsi(await screen.send('/node-3\r', /> $/));
      assert.match(found, /10 matching 'node-3'/);
      assert.match(found, /\n1\s+node-30/);
      assert.doesNotMatch(found, /node-29/);
      screen.stream.setWindow(30, 100, 0, 0);
      const wide = stripAnsi(await screen.send('/\r', /> $/));
      assert.match(wide, /page 1\/2/);
      assert.match(wide, /rack 0 with a rather long comment/);
      screen.stream.write('q\r');
      await screen.whenClosed();
    } finally {
      client.end();
    }
  });

  test('several system users are offered highest priority first, and the choice is used', async () => {
    const ops = await w.f.systemUser({ name: 'ops', username: w.sshd.username, password: w.sshd.password, priority: 5 });
    const op = await operator({ systemUsers: [w.su.id, ops.id] });
    const client = await login(w.gw.port, op);
    try {
      const screen = await openShell(client);
      await screen.waitFor(/> $/);
      const choice = await screen.send('web01\r', /system user \[1\]: $/);
      assert.match(choice, /1\) \S+ \(ops\)\r\n\s+2\) \S+ \(app\)/);
      await screen.send('2\r', PROMPT);
      await screen.send('exit\r', /closed\.[\s\S]*> $/);
      screen.stream.write('q\r');
      await screen.whenClosed();
    } finally {
      client.end();
    }
    const [row] = await settled(op.id);
    assert.equal(row!.systemUserId, w.su.id);
  });

  test('a direct target with a PTY goes straight to the shell and passes its exit status back', async () => {
    const op = await operator();
    const client = await login(w.gw.port, op, 'web01');
    try {
      const screen = await openShell(client);
      await screen.waitFor(PROMPT);
      const exit = new Promise<number>((resolve) => screen.stream.on('exit', (code: number) => resolve(code)));
      screen.stream.write('exit 7\r');
      assert.equal(await exit, 7);
    } finally {
      client.end();
    }
  });

  test('window-change reaches the backend PTY and the recording', async () => {
    const op = await operator();
    const client = await login(w.gw.port, op, 'web01');
    try {
      const screen = await openShell(client, { rows: 24, cols: 80 });
      await screen.waitFor(PROMPT);
      screen.stream.setWindow(33, 111, 0, 0);
      await screen.send('stty size\r', /33 111/);
      screen.stream.write('exit\r');
      await screen.whenClosed();
    } finally {
      client.end();
    }
    const [row] = await settled(op.id);
    const cast = readFileSync(recordingFile(s(), row!)!, 'utf8');
    assert.match(cast, /"r",\s*"111x33"/);
  });

  test('manual login mode: the operator types the system user\'s password, which is not echoed', async () => {
    const manual = await w.f.systemUser({ name: 'manual', username: w.sshd.username, loginMode: 'manual' });
    const op = await operator({ systemUsers: [manual.id] });
    const client = await login(w.gw.port, op, 'web01');
    try {
      const screen = await openShell(client);
      await screen.waitFor(`${w.sshd.username}@web01's password: `);
      await screen.send(`${w.sshd.password}\r`, PROMPT);
      assert.ok(!screen.text.includes(w.sshd.password), 'the typed password is not echoed');
      screen.stream.write('exit\r');
      await screen.whenClosed();
    } finally {
      client.end();
    }
    const exec = await login(w.gw.port, op, 'web01');
    try {
      const r = await ssh2Exec(exec, 'true');
      assert.equal(r.code, 255);
      assert.match(r.stderr, /needs a password typed at login/);
    } finally {
      exec.end();
    }
  });

  test('rule 11: disabling the user ends the live shell with a message', async () => {
    const op = await operator();
    let words = '';
    const client = await login(w.gw.port, op, 'web01');
    try {
      const screen = await openShell(client);
      await screen.waitFor(PROMPT);
      await s().users.update(SYSTEM_ACTOR, op.id, { active: false });
      // The disable itself (user.revoked on the bus) or the re-check of the grant may end it first.
      const said = /\[bastion\] session ended: (your account has been disabled|your access to web01 as \S+ has been revoked or has expired)/;
      words = said.exec(await screen.waitFor(said))![1]!;
      await screen.whenClosed();
    } finally {
      client.end();
    }
    const [row] = await settled(op.id);
    assert.equal(row!.status, 'terminated');
    assert.equal(row!.endReason, words, 'the row says what the operator was told');
    assert.equal(row!.terminatedBy, words.startsWith('your account') ? 'admin' : 'access');
  });

  test('an admin\'s terminate (API) ends the live shell with who did it', async () => {
    const op = await operator();
    const client = await login(w.gw.port, op, 'web01');
    try {
      const screen = await openShell(client);
      await screen.waitFor(PROMPT);
      const [live] = await eventually(() => s().sessions.list({ user: op.id, active: true, limit: 5, offset: 0 }).then((p) => p.items), (i) => i.length === 1);
      await s().sessionControl.terminate({ id: null, username: 'root-admin', role: 'admin', clientAddress: '127.0.0.1' }, live!.id);
      await screen.waitFor(/\[bastion\] session ended: terminated by root-admin/);
      await screen.whenClosed();
    } finally {
      client.end();
    }
    const [row] = await settled(op.id);
    assert.equal(row!.status, 'terminated');
    assert.equal(row!.terminatedBy, 'root-admin');
  });

  test('rule 11: disabling the permission ends a running command; a user disabled in the menu is disconnected', async () => {
    const op = await operator();
    const [perm] = (await s().permissions.list({ user: op.id, limit: 10, offset: 0 })).items;
    const client = await login(w.gw.port, op, 'web01');
    const menuUser = await operator();
    const menuClient = await login(w.gw.port, menuUser);
    try {
      const running = ssh2Exec(client, 'echo started; sleep 60');
      const menu = await openShell(menuClient);
      await menu.waitFor(/> $/);
      await eventually(() => loginsHeld(s().ds.manager, op.id).then((h) => h.sessions), (n) => n === 1);
      await s().permissions.update(SYSTEM_ACTOR, perm!.id, { active: false });
      const r = await running;
      assert.equal(r.code, 255);
      assert.match(r.stderr, /session ended: your access to web01 .* revoked/);
      await s().users.update(SYSTEM_ACTOR, menuUser.id, { active: false });
      await menu.whenClosed();
    } finally {
      client.end();
      menuClient.end();
    }
    const [row] = await settled(op.id);
    assert.equal(row!.status, 'terminated');
  });

  // Sub-second access checks and idle timeouts are start options of an in-process gateway (a
  // worker reads minutes from the environment); graceful shutdown of gateway worker processes
  // is tested in gateway.topology.test.ts.
  inProcessOnly('start options (timers) and a second gateway of the test process', () => describe('with short timers', () => {
    test('rule 11: a permission that expires ends the session at the next check; an idle shell is ended', async () => {
      const fast = await startGateway(s(), { port: 0, host: '127.0.0.1', accessCheckMs: 200, idleTimeoutMs: 1500 });
      try {
        const expiring = await w.f.user({ username: `exp${++seq}`, password: 'Expiring-pass-123' });
        await w.f.permission({ users: [expiring.id], assets: [w.web01.id], systemUsers: [w.su.id], validTo: new Date(Date.now() + 1500) });
        const c1 = await ssh2Login(fast.port, { username: `${expiring.username}@web01`, password: 'Expiring-pass-123' });
        const r = await ssh2Exec(c1, 'while true; do echo tick; sleep 0.2; done');
        c1.end();
        assert.equal(r.code, 255);
        assert.match(r.stderr, /has been revoked or has expired/);

        const idler = await operator();
        const c2 = await login(fast.port, idler, 'web01');
        const screen = await openShell(c2);
        await screen.waitFor(PROMPT);
        await screen.waitFor(/session ended: idle for more than/);
        await screen.whenClosed();
        c2.end();
        const [row] = await settled(idler.id);
        assert.equal(row!.terminatedBy, 'idle timeout');
      } finally {
        await fast.close();
      }
    });

    test('graceful shutdown ends live sessions, closes their rows and keeps the recording tail', async () => {
      const gw2 = await startGateway(s(), { port: 0, host: '127.0.0.1' });
      const op = await operator();
      const client = await login(gw2.port, op, 'web01');
      const screen = await openShell(client);
      await screen.waitFor(PROMPT);
      await screen.send('echo tail-marker-$((6*7))\r', /tail-marker-42/);
      await gw2.close();
      await screen.whenClosed();
      assert.match(screen.text, /\[bastion\] session ended: the gateway is shutting down/);
      client.end();
      const [row] = await settled(op.id);
      assert.equal(row!.status, 'closed');
      assert.equal(row!.endReason, 'the gateway is shutting down');
      assert.match(readFileSync(recordingFile(s(), row!)!, 'utf8'), /tail-marker-42/);
    });
  }));
});

describe('SSH gateway: per-user session limit', { skip }, () => {
  let w: World;
  before(async () => {
    w = await startWorld({ env: { BASTION_MAX_SESSIONS_PER_USER: '1' } });
  });
  after(async () => {
    await w?.stop();
    await cleanup();
  });

  test('a second concurrent session is refused with a clear line', async () => {
    const c1 = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
    const c2 = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
    try {
      const screen = await openShell(c1);
      await screen.waitFor(PROMPT);
      const r = await ssh2Exec(c2, 'true');
      assert.equal(r.code, 255);
      assert.match(r.stderr, /you already have 1 active session, the most allowed/);
      screen.stream.write('exit\r');
      await screen.whenClosed();
      await eventually(() => loginsHeld(w.bastion.services.ds.manager, w.alice.id).then((h) => h.sessions), (n) => n === 0);
      const again = await ssh2Exec(c2, 'echo ok');
      assert.equal(again.stdout.toString(), 'ok\n');
    } finally {
      c1.end();
      c2.end();
    }
  });

  test('sessions opening at the same moment never pass the limit together, and a refused one leaves no row', async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, () => ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD })));
    try {
      const rowsBefore = await w.bastion.services.ds.getRepository(SessionEntity).countBy({ userId: w.alice.id });
      // Each holds its session for a while, so that any two that passed would be active together.
      const runs = await Promise.all(clients.map((c) => ssh2Exec(c, 'sleep 1; echo ran')));
      const ran = runs.filter((r) => r.code === 0);
      const refused = runs.filter((r) => r.code !== 0);
      assert.ok(ran.length <= 1, `${ran.length} sessions ran at once with a limit of 1`);
      for (const r of ran) assert.equal(r.stdout.toString(), 'ran\n');
      for (const r of refused) {
        assert.equal(r.code, 255);
        assert.equal(r.stderr.toString().trim(), 'you already have 1 active session, the most allowed; end one first');
      }
      assert.equal(await w.bastion.services.ds.getRepository(SessionEntity).countBy({ userId: w.alice.id }), rowsBefore + ran.length);
    } finally {
      for (const c of clients) c.end();
    }
  });
});


