// Exec sessions are guarded like shells (issue 11): an exec with a PTY is an interactive
// terminal whose every submitted line is checked and logged; an exec without one whose
// program reads its commands from stdin is refused while deny/confirm filters apply (unless
// BASTION_EXEC_STDIN_SHELL=allow); every key that makes readline run a line (Enter, ^J, ^O,
// insert-comment) is checked like Enter.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { stdinInterpreter } from '../core/access/stdinInterpreter.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup } from './helpers/tmp.ts';
import { execa } from 'execa';
import { QUIET, Screen, ssh2Login, sshPassword, startWorld, type World } from './gatewayFixture.ts';
import { guardedShells, PROMPT, type Operator } from './helpers/guardedShells.ts';

const skip = sshdUnavailable();
const REFUSED = /command refused by filter '[^']*'\r\n[\s\S]*\^C/;

describe('stdin programs: what an exec command starts', () => {
  test('shells and interpreters reading stdin are recognised through quoting, paths and wrappers', () => {
    const reading = [
      'bash', 'sh', 'dash', 'zsh', 'ksh', 'fish', 'bash -s', 'bash -i', 'python3', 'python', 'perl', 'ruby', 'node', 'php', 'lua', 'tclsh',
      'busybox sh', '/bin/bash', '/usr/bin/python3.11 -', 'env bash', 'env -i PATH=/bin bash', 'sudo bash', 'sudo -u root -- sh', 'sudo -s', 'exec bash',
      'exec -a x bash', 'nohup sh', 'timeout 5 bash', 'nice -n 5 bash', 'FOO=1 bash', 'b""ash', '\\bash', "$'\\x62ash'", 'true; cat | sh', '(bash)',
      'if true; then bash; fi', 'echo $(bash)', 'cat <(bash)', 'bash /dev/stdin', 'source /dev/stdin', 'bash -c bash', 'bash -c "sh -s"',
      'python3 -c "exec(input())"', 'xargs -I{} sh -c {}', 'su', 'ssh localhost', 'python3 -m code', 'bash <<< ls',
      'unshare bash', 'fakeroot sh', 'rlwrap python3', 'script -qc bash /dev/null', 'sed e', "sed 's/^/x/e'", 'at now', 'crontab -', 'docker exec -i c bash', 'awk "{system(\\$0)}"',
    ];
    for (const c of reading) assert.notEqual(stdinInterpreter(c).kind, 'none', c);
    // Computed program names cannot be told before they run: refused as ambiguous.
    for (const c of ['$SHELL', '$(which bash)', '`which bash`', 'sh -c "$(cat)"', 'env -S "bash -x"', 'find . -maxdepth 0 -exec sh \\;', 'capsh --', 'someprog bash']) {
      assert.equal(stdinInterpreter(c).kind, 'ambiguous', c);
    }
    const plain = [
      'ls -la', 'uptime', 'bash -c "ls"', 'sh -c "echo hi; uptime"', 'python3 script.py', 'python3 -c "print(1)"', 'bash /tmp/x.sh', 'echo bash',
      '[ -f /etc/passwd ] && echo yes', 'cat /etc/hosts | grep x', 'sudo ls', 'env FOO=1 ls', 'for i in 1 2; do echo $i; done', 'tar czf - /etc', 'scp -f /tmp/x',
      'grep bash /etc/shells', 'which python3', 'apt-get install -y python3', "sed -n 's/a/b/p' /etc/hosts", 'sed -e s/x/y/ f', 'man bash', 'crontab -l', 'at -l',
    ];
    for (const c of plain) assert.equal(stdinInterpreter(c).kind, 'none', c);
  });
});

describe('SSH gateway: exec sessions are guarded', { skip }, () => {
  let w: World;
  let allowWorld: World;
  const kit = guardedShells(() => w, { marker: 'execguard', user: 'eg', password: 'Exec-guard' });
  const { marker, operator, filter, shell, commands, freshPrompt, assertNotRun } = kit;
  /** An interactive exec with a PTY through ssh2 (what `ssh -t alice@web01@bastion bash -i` asks for). */
  async function ptyExec(user: Operator, command: string): Promise<{ screen: Screen; end: () => void }> {
    const client = await ssh2Login(w.gw.port, { username: `${user.username}@web01`, password: user.password });
    const screen = await new Promise<Screen>((resolve, reject) => {
      client.exec(command, { pty: { term: 'xterm', rows: 24, cols: 100 } }, (err, stream) => (err ? reject(err) : resolve(new Screen(stream))));
    });
    await screen.waitFor(PROMPT);
    return { screen, end: () => client.end() };
  }

  before(async () => {
    w = await startWorld();
    allowWorld = await startWorld({ env: { BASTION_EXEC_STDIN_SHELL: 'allow' } });
  });
  after(async () => {
    kit.removeMarkers();
    await w?.stop();
    await allowWorld?.stop();
    await cleanup();
  });

  test('ssh -t … bash -i: a denied line typed in it never runs and is logged as denied, next to the exec command', async () => {
    const op = await operator();
    const f = await filter(op, 'touch', 'deny');
    const path = marker('pty-exec');
    const { screen, end } = await ptyExec(op, 'bash -i');
    try {
      const refused = await screen.send(`touch ${path}\r`, REFUSED);
      assert.match(refused, new RegExp(`\\[bastion\\] command refused by filter '${f.name}'`));
      await freshPrompt(screen);
      await screen.send('echo pty-exec-ok\r', /pty-exec-ok\r\n[\s\S]*\$ (\x1b\[K)?$/);
      await assertNotRun(path, 'the denied line did not run');
    } finally {
      end();
    }
    const rows = await commands(op.id, (r) => r.some((c) => c.risk === 'denied') && r.some((c) => c.input === 'echo pty-exec-ok'));
    const seen = JSON.stringify(rows.map((c) => [c.input, c.risk]));
    assert.equal(rows[0]?.input, 'bash -i', seen);
    assert.equal(rows.find((c) => c.risk === 'denied')?.input, `touch ${path}`, seen);
    assert.equal(rows.find((c) => c.input === 'echo pty-exec-ok')?.risk, 'normal', seen);
  });

  test('a script piped into the real `ssh -tt … bash -i`: the denied line is refused, the lines after it run', async () => {
    const op = await operator();
    await filter(op, 'touch', 'deny');
    const path = marker('ssh-tt');
    const run = execa('sshpass', ['-p', op.password, 'ssh', ...QUIET, '-o', 'PubkeyAuthentication=no', '-p', String(w.gw.port), '-tt', `${op.username}@web01@127.0.0.1`, 'bash -i'], { reject: false, timeout: 30_000 });
    let out = '';
    const waiters = new Set<() => void>();
    run.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      for (const w of waiters) w();
    });
    // The first prompt follows ssh's start, the login and bash's start: on a loaded host, seconds each.
    const seen = (re: RegExp, ms = 15_000) => new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${String(re)}; output: ${JSON.stringify(out)}`)), ms);
      const check = () => {
        if (!re.test(out)) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
    await seen(/\$ (\x1b\[K)?$/, 30_000);
    const refused = seen(/command refused by filter/);
    run.stdin.write(`touch ${path}\n`);
    await refused;
    await seen(/\^C/);
    // Keys sent behind a refused line are dropped with it; the next lines are read afresh. The
    // shell may still be handling the ^C when the next line arrives (and drop it): sent again then.
    for (let attempt = 0; attempt < 3 && !/after-42/.test(out); attempt++) {
      run.stdin.write('echo after-$((6*7))\n');
      await seen(/after-42/).catch(() => undefined);
    }
    assert.match(out, /after-42/);
    run.stdin.end('exit\n');
    const r = await run;
    assert.equal(r.exitCode, 0, String(r.stderr));
    assert.equal(existsSync(path), false, 'the denied line did not run');
    const rows = await commands(op.id, (rows) => rows.some((c) => c.risk === 'denied') && rows.some((c) => c.input === 'echo after-$((6*7))'));
    assert.equal(rows.find((c) => c.risk === 'denied')?.input, `touch ${path}`, JSON.stringify(rows.map((c) => [c.input, c.risk])));
  });

  test('echo cmd | ssh … bash with a deny filter: refused with one line on stderr, nothing runs', async () => {
    const op = await operator();
    await filter(op, 'rm', 'deny');
    const path = marker('stdin-bash');
    for (const program of ['bash', 'sh', '/bin/bash -s', 'env bash', 'python3']) {
      const input = program === 'python3' ? `open('${path}', 'w')\n` : `touch ${path}\n`;
      const r = await sshPassword(w.gw.port, `${op.username}@web01`, op.password, [program], { input });
      assert.equal(r.exitCode, 1, `${program}: ${String(r.stderr)}`);
      assert.match(String(r.stderr).trim(), /^\[bastion\] command refused: '[^']+' would read its commands from stdin, where command filters cannot check them; use a terminal \(ssh -t\) or pass the commands as the command$/, program);
      assert.equal(String(r.stderr).trim().split('\n').length, 1, 'one line');
      await assertNotRun(path, `${program}: nothing ran`);
    }
    const rows = await commands(op.id, (c) => c.length >= 5);
    assert.deepEqual(rows.map((c) => [c.input, c.risk]), ['bash', 'sh', '/bin/bash -s', 'env bash', 'python3'].map((p) => [p, 'denied']));
    // A plain command still runs, and stdin still reaches it.
    const cat = await sshPassword(w.gw.port, `${op.username}@web01`, op.password, ['cat'], { input: 'data-through\n' });
    assert.equal(cat.exitCode, 0);
    assert.equal(String(cat.stdout), 'data-through');
  });

  test('without a deny or confirm filter, or with BASTION_EXEC_STDIN_SHELL=allow, a stdin shell runs', async () => {
    const free = await operator();
    const path = marker('stdin-free');
    const r = await sshPassword(w.gw.port, `${free.username}@web01`, free.password, ['bash'], { input: `touch ${path}\n` });
    assert.equal(r.exitCode, 0, String(r.stderr));
    assert.equal(existsSync(path), true, 'no filter applies: it runs');

    const op = await operator(allowWorld);
    await filter(op, 'rm', 'deny', allowWorld);
    const allowed = marker('stdin-allow');
    const r2 = await sshPassword(allowWorld.gw.port, `${op.username}@web01`, op.password, ['bash'], { input: `touch ${allowed}\n` });
    assert.equal(r2.exitCode, 0, String(r2.stderr));
    assert.equal(existsSync(allowed), true, 'the setting allows it');
  });

  test('Ctrl-O, Ctrl-J and Ctrl-M on a denied line are refused like Enter', async () => {
    const op = await operator();
    await filter(op, 'touch', 'deny');
    for (const [name, key] of [['Ctrl-O', '\x0f'], ['Ctrl-J', '\n'], ['Ctrl-M', '\r']] as const) {
      const path = marker(name);
      const { screen, end } = await shell(op);
      try {
        await screen.send(`touch ${path}${key}`, REFUSED);
        await freshPrompt(screen);
        await assertNotRun(path, `${name}: the denied line did not run`);
      } finally {
        end();
      }
    }
    const rows = await commands(op.id, (r) => r.filter((c) => c.risk === 'denied').length >= 3);
    assert.equal(rows.filter((c) => c.risk === 'denied').length, 3, JSON.stringify(rows.map((c) => [c.input, c.risk])));
  });

  test('insert-comment with an argument (ESC 1 ESC #) uncomments and runs the line: checked like Enter', async () => {
    const op = await operator();
    await filter(op, 'touch', 'deny');
    const path = marker('comment');
    const { screen, end } = await shell(op);
    try {
      await screen.send(`#touch ${path}`, new RegExp(`#touch ${path}$`));
      await screen.send('\x1b1\x1b#', /command refused by filter/);
      // The line stays a comment; Enter runs nothing, then the shell goes on.
      await screen.send('\r', PROMPT);
      await freshPrompt(screen);
      await assertNotRun(path, 'the uncommented line did not run');
    } finally {
      end();
    }
  });

  test('edit-and-execute-command (Ctrl-X Ctrl-E) is not available while a filter applies: what the editor returns would run unchecked', async () => {
    const op = await operator();
    await filter(op, 'touch', 'deny');
    const path = marker('editor');
    const { screen, end } = await shell(op);
    try {
      // An "editor" that returns the line unchanged: bash would run `touch …` straight away.
      await screen.send('export VISUAL=true\r', /\$ (\x1b\[K)?$/);
      await screen.send(`touch ${path}`, new RegExp(`touch ${path}$`));
      await screen.send('\x18\x05', /editing the command in an editor \(Ctrl-X Ctrl-E, v\) is not available while command filters apply/);
      // The line is still there, unrun: Ctrl-U (no signal, so an editor run could not be cut short) clears it.
      screen.stream.write('\x15');
      await freshPrompt(screen);
      await assertNotRun(path, 'the line sent through the editor did not run');
    } finally {
      end();
    }
  });
});
