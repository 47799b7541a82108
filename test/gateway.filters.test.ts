// Command filters enforced by the gateway: in a real PTY shell the line the operator submits
// is checked before Enter reaches the asset (a refused line never runs, a held line waits for
// an administrator), and exec commands are checked before they start.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Actor } from '../core/actor.ts';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup } from './helpers/tmp.ts';
import type { ClientChannel } from 'ssh2';
import { eventually, sshPassword, ssh2Login, type Screen, startWorld, type World } from './gatewayFixture.ts';
import { unsentAfterFlood } from './helpers/unreadingClient.ts';
import { guardedShells, PROMPT, REFUSED_OR_PROMPT } from './helpers/guardedShells.ts';

const skip = sshdUnavailable();
/**
 * The refusal, then the shell's ^C. A line sent with its Enter in one piece is decided before
 * the asset has echoed it, so its echo may come before the message or between it and the ^C.
 */
const REFUSED = /command refused by filter '[^']*'\r\n[\s\S]*\^C/;

describe('SSH gateway: command filters in shells and exec', { skip }, () => {
  let w: World;
  let admin: Actor;
  const s = () => w.bastion.services;
  const kit = guardedShells(() => w, { marker: 'filter', user: 'cf', password: 'Filter-pass' });
  const { marker, operator, filter, shell, commands, freshPrompt, assertNotRun } = kit;
  async function pendingFor(username: string) {
    const found = await eventually(async () => s().confirmations.pending().filter((p) => p.username === username), (p) => p.length > 0);
    assert.equal(found.length, 1, 'one command is held');
    return found[0]!;
  }

  before(async () => {
    w = await startWorld();
    const adminUser = await s().users.findByUsername('admin');
    admin = { id: adminUser?.id ?? null, username: 'admin', role: 'admin', clientAddress: '127.0.0.1' };
  });
  after(async () => {
    kit.removeMarkers();
    await w?.stop();
    await cleanup();
  });

  test('a denied line sent with its Enter in one piece never runs; the shell goes on; the command is flagged denied', async () => {
    const op = await operator();
    const f = await filter(op, 'touch', 'deny');
    const path = marker('deny');
    const { screen, end } = await shell(op);
    let screenText = '';
    try {
      const refused = await screen.send(`touch ${path}\r`, REFUSED);
      assert.match(refused, new RegExp(`\\[bastion\\] command refused by filter '${f.name}'`));
      await freshPrompt(screen);
      await screen.send('echo still-here\r', /still-here\r\n[\s\S]*\$ (\x1b\[K)?$/);
      await assertNotRun(path, 'the denied command did not run');
    } finally {
      screenText = screen.text;
      end();
    }
    const rows = await commands(op.id, (r) => r.some((c) => c.risk === 'denied') && r.some((c) => c.input === 'echo still-here'));
    const seen = `recorded: ${JSON.stringify(rows.map((c) => [c.input, c.risk]))}; screen: ${JSON.stringify(screenText)}`;
    const denied = rows.find((c) => c.risk === 'denied');
    assert.equal(denied?.input, `touch ${path}`, seen);
    assert.equal(rows.find((c) => c.input === 'echo still-here')?.risk, 'normal', seen);
  });

  test("a shell that ignores Ctrl-C (trap '' INT) keeps nothing of a refused line: the next Enter runs none of it", async () => {
    const op = await operator();
    await filter(op, 'touch', 'deny');
    const path = marker('trap');
    const { screen, end } = await shell(op);
    try {
      await screen.send("trap '' INT\r", PROMPT);
      await screen.send(`touch ${path}\r`, /command refused by filter '[^']*'\r\n/);
      // The ^C that followed did nothing here: the line was erased by keys first, or this Enter runs it.
      await screen.send('\r', PROMPT);
      await freshPrompt(screen);
      await assertNotRun(path, 'the refused line ran on the next Enter');
    } finally {
      end();
    }
  });

  test("a shell that ignores Ctrl-C keeps a line the operator interrupted: the next Enter checks it and refuses it", async () => {
    const op = await operator();
    await filter(op, 'touch', 'deny');
    const path = marker('trap-own');
    const { screen, end } = await shell(op);
    try {
      await screen.send("trap '' INT\r", PROMPT);
      await screen.send(`touch ${path}`, new RegExp(`touch ${path}$`));
      // The operator's own Ctrl-C: bash ignores it and keeps the line, and shows nothing.
      screen.stream.write('\x03');
      const answer = await screen.send('\r', /command refused by filter '[^']*'\r\n|\$ (\x1b\[K)?$/);
      await freshPrompt(screen);
      await assertNotRun(path, 'the line kept after Ctrl-C ran on the next Enter');
      assert.match(answer, /command refused by filter 'deny-touch-\d+'/);
    } finally {
      end();
    }
  });

  test("a refused line the shell could not erase (Ctrl-U unbound, Ctrl-C ignored) is refused again at the next Enter", async () => {
    const op = await operator();
    await filter(op, 'touch', 'deny');
    const path = marker('unerased');
    const { screen, end } = await shell(op);
    try {
      await screen.send("trap '' INT; stty kill undef; bind -r '\\C-u'\r", PROMPT);
      await screen.send(`touch ${path}\r`, /command refused by filter '[^']*'\r\n/);
      // Neither the erasing keys (^U is typed into the line now) nor the Ctrl-C dropped the line:
      // it is still the shell's, and still checked.
      const answer = await screen.send('\r', /command refused by filter '[^']*'\r\n|\$ (\x1b\[K)?$/);
      await assertNotRun(path, 'the refused line the shell kept ran on the next Enter');
      // What would have run is `touch <path>^U`: no file of that name either.
      assert.deepEqual(readdirSync(dirname(path)).filter((n) => n.startsWith(basename(path))), [], 'the refused line the shell kept ran on the next Enter');
      assert.match(answer, /command refused by filter 'deny-touch-\d+'/);
    } finally {
      end();
    }
  });

  test('a shell whose Enter does not run the line (rebound) is still read from the screen at the key that does', async () => {
    const op = await operator();
    await filter(op, 'touch', 'deny');
    const path = marker('rebound-enter');
    const { screen, end } = await shell(op);
    try {
      await screen.send(`bind '"\\C-m": end-of-line'\r`, PROMPT);
      // This Enter is checked (an empty line) and passed on, and the shell answers it with no newline.
      screen.stream.write('\r');
      await screen.send('tou\t', /touch $/);
      // Ctrl-J runs the line; only the shell's completion makes it `touch`.
      const answer = await screen.send(` ${path}\n`, REFUSED_OR_PROMPT);
      await screen.send(`bind '"\\C-m": accept-line'\n`, PROMPT);
      await freshPrompt(screen);
      await assertNotRun(path, 'the completed line ran at Ctrl-J');
      assert.match(answer, /command refused by filter 'deny-touch-\d+'/);
    } finally {
      end();
    }
  });

  test('a line longer than a command row keeps (a 1000-column terminal) is checked to its end', async () => {
    const op = await operator();
    await filter(op, 'touch', 'deny');
    const path = marker('long-line');
    const { screen, end } = await shell(op);
    try {
      screen.stream.setWindow(100, 1000, 0, 0);
      await screen.send('stty size\r', /100 1000\r\n[\s\S]*\$ (\x1b\[K)?$/);
      // 9 000 characters and then what only Tab completion makes `touch`: all of it on the screen.
      await screen.send(`echo ${'x'.repeat(9000)} >/dev/null; tou`, /; tou$/);
      await screen.send('\t', /ch $/);
      // REFUSED_OR_PROMPT waits for the prompt after the refusal (or after the command, had it run).
      const answer = await screen.send(` ${path}\r`, REFUSED_OR_PROMPT);
      await assertNotRun(path, 'the end of a long line ran unchecked');
      assert.match(answer, /command refused by filter 'deny-touch-\d+'/);
    } finally {
      end();
    }
  });

  test('a line whose start has scrolled off the screen is refused: the filters cannot read it whole', async () => {
    const op = await operator();
    await filter(op, 'touch', 'deny');
    const path = marker('scrolled-line');
    const { screen, end } = await shell(op);
    try {
      // 80x24 shows 1 920 characters; Tab makes the `touch` that then scrolls away.
      await screen.send('tou', /tou$/);
      await screen.send('\t', /ch $/);
      await screen.send(`${path}; echo ${'x'.repeat(3000)}`, /xxxx$/);
      const answer = await screen.send('\r', REFUSED_OR_PROMPT);
      await assertNotRun(path, 'a line whose start had scrolled off ran');
      assert.match(answer, /\[bastion\] command refused: the line is longer than the terminal shows, so the command filters cannot read all of it/);
      const rows = await commands(op.id, (r) => r.some((c) => c.risk === 'denied'));
      assert.ok(rows.find((c) => c.risk === 'denied')?.input.endsWith('xxxx'), 'the refused line is logged as denied');
    } finally {
      end();
    }
  });

  test('long output that ends without a newline does not make the next command unreadable', async () => {
    const op = await operator();
    await filter(op, 'touch', 'deny');
    const { screen, end } = await shell(op);
    try {
      // 3 000 characters and no newline: the prompt follows on the same (wrapped) line, whose start scrolls off.
      await screen.send("printf '%3000s' '' | tr ' ' y\r", /yyyy[^\r\n]*\$ (\x1b\[K)?$/);
      await screen.send('echo ok-$((1+1))\r', /ok-2\r\n[\s\S]*\$ (\x1b\[K)?$/);
      assert.doesNotMatch(screen.text, /command refused/);
    } finally {
      end();
    }
  });

  test('a line longer than the screen in a shell does not stop the gateway (the reader walked the screen forever)', async () => {
    const op = await operator();
    const { screen, end } = await shell(op);
    try {
      await screen.send(`echo ${'z'.repeat(2500)} | wc -c\r`, /\b2501\r\n[\s\S]*\$ (\x1b\[K)?$/);
      // The same process still serves this session and a new connection.
      await screen.send('echo alive-$((2*3))\r', /alive-6\r\n/);
      const other = await shell(op);
      other.end();
    } finally {
      end();
    }
  });

  test('the line is read from the screen: a command completed with Tab is refused too', async () => {
    const op = await operator();
    await filter(op, 'touch', 'deny');
    const path = marker('tab');
    const { screen, end } = await shell(op);
    try {
      // Typed "tou<Tab>": only the shell's completion makes it `touch`.
      await screen.send('tou\t', /touch $/);
      const refused = await screen.send(` ${path}\r`, REFUSED);
      assert.match(refused, /command refused by filter/);
      await freshPrompt(screen);
      await assertNotRun(path, 'the completed command did not run');
    } finally {
      end();
    }
  });

  test('a Tab completion sent in one piece with its Enter is checked as the shell completes it', async () => {
    const op = await operator();
    await filter(op, 'touch', 'deny');
    const path = marker('tab-burst');
    const { screen, end } = await shell(op);
    try {
      // A script's burst: the keys "tou", Tab, the path and Enter in one write; only the shell's echo says `touch`.
      await screen.send(`tou\t ${path}\r`, REFUSED);
      await freshPrompt(screen);
      await assertNotRun(path, 'the completed command did not run');
    } finally {
      end();
    }
  });

  test('a confirm filter holds the command until an administrator approves it, then it runs (flagged warning)', async () => {
    const op = await operator();
    const f = await filter(op, 'mkdir', 'confirm');
    const path = marker('approve');
    const { screen, end } = await shell(op);
    try {
      const from = screen.text.length;
      screen.stream.write(`mkdir ${path}\r`);
      await screen.waitFor(/waiting for an administrator to approve/, from);
      const held = await pendingFor(op.username);
      assert.equal(held.command, `mkdir ${path}`);
      assert.equal(held.filter, f.name);
      await assertNotRun(path, 'nothing runs while the command is held');
      await s().confirmations.decide(admin, held.id, true);
      await screen.waitFor(/approved by admin[\s\S]*\$ (\x1b\[K)?$/, from);
      await eventually(async () => existsSync(path), (x) => x);
      assert.equal(existsSync(path), true, 'the approved command ran');
    } finally {
      end();
    }
    const rows = await commands(op.id, (r) => r.some((c) => c.input === `mkdir ${path}`));
    assert.equal(rows.find((c) => c.input === `mkdir ${path}`)?.risk, 'warning');
  });

  test('a rejected command does not run and is recorded as denied', async () => {
    const op = await operator();
    await filter(op, 'mkdir', 'confirm');
    const path = marker('reject');
    const { screen, end } = await shell(op);
    try {
      const from = screen.text.length;
      screen.stream.write(`mkdir ${path}\r`);
      await screen.waitFor(/waiting for an administrator/, from);
      const held = await pendingFor(op.username);
      await s().confirmations.decide(admin, held.id, false);
      await screen.waitFor(/command rejected by admin\r\n[\s\S]*\^C/, from);
      await freshPrompt(screen);
      await screen.send('echo after-reject\r', /after-reject\r\n/);
      assert.equal(existsSync(path), false);
    } finally {
      end();
    }
    const rows = await commands(op.id, (r) => r.some((c) => c.risk === 'denied'));
    assert.equal(rows.find((c) => c.risk === 'denied')?.input, `mkdir ${path}`);
  });

  test('exec: a denied command exits 1 with one line and never runs; a held one runs once approved', async () => {
    const op = await operator();
    const deny = await filter(op, 'touch', 'deny');
    await filter(op, 'mkdir', 'confirm');
    const path = marker('exec');
    const r = await sshPassword(w.gw.port, `${op.username}@web01`, op.password, [`touch ${path}`]);
    assert.equal(r.exitCode, 1);
    assert.equal(String(r.stderr).trim(), `[bastion] command refused by filter '${deny.name}'`);
    assert.equal(existsSync(path), false);
    // Behind sudo or a path the command is still found.
    const sneaky = await sshPassword(w.gw.port, `${op.username}@web01`, op.password, [`true; /usr/bin/touch ${path}`]);
    assert.equal(sneaky.exitCode, 1);
    assert.equal(existsSync(path), false);

    const dir = marker('exec-confirm');
    const running = sshPassword(w.gw.port, `${op.username}@web01`, op.password, [`mkdir ${dir} && echo made`]);
    const held = await pendingFor(op.username);
    assert.equal(existsSync(dir), false);
    await s().confirmations.decide(admin, held.id, true);
    const done = await running;
    assert.equal(done.exitCode, 0, String(done.stderr));
    assert.equal(String(done.stdout).trim(), 'made');
    assert.match(String(done.stderr), /waiting for an administrator to approve/);
    assert.equal(existsSync(dir), true);
    const rows = await commands(op.id, (c) => c.length >= 3);
    assert.deepEqual(rows.map((c) => c.risk), ['denied', 'denied', 'warning']);
  });

  test('exec: a command held for confirmation whose session is terminated meanwhile (an admin, rule 11) is withdrawn and never runs', async () => {
    const op = await operator();
    await filter(op, 'mkdir', 'confirm');
    const dir = marker('exec-held-terminated');
    const running = sshPassword(w.gw.port, `${op.username}@web01`, op.password, [`mkdir ${dir} && echo made`]);
    const held = await pendingFor(op.username);
    await s().sessionControl.terminate(admin, held.sessionId!);
    const left = await eventually(async () => s().confirmations.pending().filter((p) => p.id === held.id), (p) => p.length === 0, 5000);
    // Were it still listed, an approval would run the command on the asset of a session that has ended.
    if (left.length > 0) await s().confirmations.decide(admin, held.id, true);
    const done = await running;
    assert.deepEqual(left, [], 'the request is withdrawn');
    assert.equal(done.exitCode, 255);
    assert.equal(String(done.stderr).trim().split('\n').at(-1), '[bastion] session ended: terminated by admin');
    assert.equal(String(done.stdout), '');
    assert.equal(existsSync(dir), false);
  });

  test('a shell without a PTY: a denied line is dropped, the lines around it run', async () => {
    const op = await operator();
    await filter(op, 'touch', 'deny');
    const path = marker('nopty');
    const r = await sshPassword(w.gw.port, `${op.username}@web01`, op.password, ['-T'], { input: `echo one\ntouch ${path}\necho two\n` });
    assert.equal(existsSync(path), false);
    assert.match(String(r.stdout), /one\n[\s\S]*two/);
    assert.match(String(r.stdout) + String(r.stderr), /command refused by filter/);
  });

  test('a shell whose operator sends refused lines without reading the refusals is read no further once they wait (rule 13)', async () => {
    // Each refused line is a line of output: a client that read none had the gateway queue them
    // without bound (+100 MiB for each MiB of `touch x` lines). 6 MiB of them here.
    const op = await operator();
    await filter(op, 'touch', 'deny');
    const client = await ssh2Login(w.gw.port, { username: `${op.username}@web01`, password: op.password });
    try {
      const sh = await new Promise<ClientChannel>((resolve, reject) => client.shell(false, (err, ch) => (err ? reject(err) : resolve(ch))));
      sh.stderr.resume();
      const unsent = await unsentAfterFlood(client, sh, Buffer.from('touch x\n'.repeat(4096)), 192, 'true');
      assert.ok(unsent > 0, 'the gateway read all 6 MiB of refused lines from a client that reads nothing');
    } finally {
      client.end();
    }
    // What it read is in the command log, one denied row a line, stored in the store's batches
    // (each row waiting for the one before it to be stored took ~2 minutes for one read's 4,096).
    const refused = <T extends { input: string }>(r: T[]): T[] => r.filter((c) => c.input === 'touch x');
    const rows = refused(await commands(op.id, (r) => refused(r).length >= 2000));
    assert.ok(rows.length >= 2000, `${rows.length} refused lines in the command log`);
    assert.deepEqual([...new Set(rows.map((r) => r.risk))], ['denied']);
  });

  /**
   * Repeats a harmless `touch --version` in the shell until a filter change shows there: the
   * bus brings the change to the gateway process a moment after the call returns here. Bounded
   * well below the filter cache's 15 s safety-net age, so that only the bus can make it pass.
   */
  async function probeUntil(screen: Screen, want: 'refused' | 'ran'): Promise<void> {
    for (let i = 0; i < 20; i++) {
      const seen = await screen.send('touch --version\r', /touch \(GNU coreutils\)[\s\S]*\$ (\x1b\[K)?$|command refused by filter[\s\S]*\^C/);
      const refused = /command refused by filter/.test(seen);
      if (refused) await freshPrompt(screen);
      if (refused === (want === 'refused')) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`after 20 probes the shell's gateway process still has not heard the filter change (want: ${want})`);
  }

  // The bug issue 11 found under `npm start`: a change must reach the process that holds the
  // shell while its filter cache is warm (in the workers topology, another process).
  test('a filter created, then deleted, while a shell is open is in force on its next lines', async () => {
    const op = await operator();
    const { screen, end } = await shell(op);
    try {
      const first = marker('live-first');
      // Runs, and loads the filters of this session into the gateway's cache (none yet).
      await screen.send(`touch ${first} && echo made-$((1+1))\r`, /made-2\r\n[\s\S]*\$ (\x1b\[K)?$/);
      assert.equal(existsSync(first), true);
      const f = await filter(op, 'touch', 'deny');
      await probeUntil(screen, 'refused');
      const second = marker('live-second');
      const refused = await screen.send(`touch ${second}\r`, REFUSED);
      assert.match(refused, new RegExp(`command refused by filter '${f.name}'`));
      await freshPrompt(screen);
      await assertNotRun(second, 'the filter created while the shell was open refused the command');
      await s().commandFilters.remove(SYSTEM_ACTOR, f.id);
      await probeUntil(screen, 'ran');
      const third = marker('live-third');
      await screen.send(`touch ${third} && echo made-$((1+2))\r`, /made-3\r\n[\s\S]*\$ (\x1b\[K)?$/);
      assert.equal(existsSync(third), true, 'the deleted filter no longer refuses');
    } finally {
      end();
    }
  });

  test("another user's deny filter does not touch this user, and does stop that user", async () => {
    const op = await operator();
    const other = await operator();
    const f = await filter(other, 'touch', 'deny');
    // No filter of op's own: had the scope been ignored, other's deny would refuse op's touch.
    const mine = marker('not-mine');
    const ran = await sshPassword(w.gw.port, `${op.username}@web01`, op.password, [`touch ${mine} && echo touched`]);
    assert.equal(ran.exitCode, 0, String(ran.stderr));
    assert.equal(String(ran.stdout).trim(), 'touched');
    assert.equal(existsSync(mine), true, "the other user's filter did not apply to op");
    const theirs = marker('theirs');
    const refused = await sshPassword(w.gw.port, `${other.username}@web01`, other.password, [`touch ${theirs}`]);
    assert.notEqual(refused.exitCode, 0);
    assert.match(String(refused.stderr), new RegExp(`\\[bastion\\] command refused by filter '${f.name}'`));
    await assertNotRun(theirs, 'the filter did apply to its own user');
  });

  test('an allow filter with a lower priority number wins over a deny filter', async () => {
    const op = await operator();
    await s().commandFilters.create(SYSTEM_ACTOR, { name: `allow-tmp-${kit.next()}`, kind: 'regex', pattern: '^touch /tmp/bastion-filter-.*-allowed-', action: 'allow', priority: 1, users: [op.id] });
    const deny = await s().commandFilters.create(SYSTEM_ACTOR, { name: `deny-touch-${kit.next()}`, kind: 'commands', pattern: 'touch', action: 'deny', priority: 90, users: [op.id] });
    const path = marker('allowed');
    const other = marker('denied');
    const { screen, end } = await shell(op);
    try {
      await screen.send(`touch ${path} && echo touched\r`, /touched\r\n[\s\S]*\$ (\x1b\[K)?$/);
      assert.equal(existsSync(path), true);
      const refused = await screen.send(`touch ${other}\r`, REFUSED);
      assert.match(refused, new RegExp(`command refused by filter '${deny.name}'`));
      await assertNotRun(other, 'a touch the allow filter does not cover is denied');
    } finally {
      end();
    }
  });
});
