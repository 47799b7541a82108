// DESIGN rule 13: names reach an operator's terminal only through the one sanitizer. Assets,
// system users and a command filter are named with every kind of escape sequence a terminal
// obeys (titles, OSC 52 clipboard writes, screen clears, DCS, C1 controls, bare ESC, BEL,
// bidi overrides); a real session is driven through every message that shows a name, and
// none of those sequences reaches the client.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup } from './helpers/tmp.ts';
import { openShell, ssh2Exec, ssh2Login, startWorld, type World } from './gatewayFixture.ts';
import { terminalSafe } from '../gateway/terminalSafe.ts';

const skip = sshdUnavailable();

/** Each escape a name could carry, with a payload marker that must never be seen either. */
const ESCAPES = [
  '\x1b]0;OSCTITLE\x07', // window title, BEL-terminated
  '\x1b]2;OSCTITLE2\x1b\\', // window title, ST-terminated
  '\x1b]52;c;Q0xJUEJPQVJE\x07', // OSC 52: write the operator's clipboard
  '\x1bP+q544e\x1b\\', // DCS (termcap query)
  '\x1b[2J\x1b[H', // CSI: clear screen, cursor home
  '\u009b2J', // C1 CSI
  '\u009d0;C1TITLE\u009c', // C1 OSC with C1 ST
  '\u0090DCSC1\u009c', // C1 DCS
  '\x1bc', // RIS: reset the terminal
  '\x07', // BEL
  '\x08\x08', // backspaces that would overwrite what was printed
  '\u202e', // right-to-left override
  '\x1b', // a bare ESC (last: it would take the next character with it, as a terminal does)
];
const EVIL = ESCAPES.join('');
/** Raw bytes (as decoded text) that must not reach the operator from any of the names. */
const FORBIDDEN = ['\x1b]', '\x1bP', '\x1b[2J', '\x1bc', '\u009b', '\u009d', '\u0090', '\u009c', '\x07', '\u202e', 'OSCTITLE', 'Q0xJUEJPQVJE', 'C1TITLE', 'DCSC1', '+q544e'];

function assertClean(text: string, where: string): void {
  for (const bad of FORBIDDEN) assert.ok(!text.includes(bad), `${where}: ${JSON.stringify(bad)} reached the client:\n${JSON.stringify(text)}`);
}

describe('names on the terminal are sanitized (rule 13)', { skip }, () => {
  let w: World;
  const s = () => w.bastion.services;

  before(async () => {
    w = await startWorld();
  });
  after(async () => {
    await w?.stop();
    await cleanup();
  });

  test('the sanitizer removes every listed escape and keeps the plain text', () => {
    assert.equal(terminalSafe(`evil${EVIL}`), 'evil');
    assert.equal(terminalSafe('web01 (prod) — ünïcode'), 'web01 (prod) — ünïcode');
    // An OSC cut off by another escape ends there; its payload goes with it.
    assert.equal(terminalSafe('a\x1b]0;x\x1b[1mb'), 'ab');
  });

  test('menu, system-user choice, manual login prompt, Connecting/closed lines, filter refusal and error lines carry no escapes', async () => {
    const password = 'Term-names-pass-1';
    const op = await w.f.user({ username: 'termnames', password });
    const asset = await w.f.asset({ name: `evil-web${EVIL}`, address: w.sshd.host, port: w.sshd.port, comment: `comment${EVIL}` });
    const dead = await w.f.asset({ name: `dead-web${EVIL}`, address: '127.0.0.1', port: 1 });
    const manual = await w.f.systemUser({ name: `manual${EVIL}`, username: w.sshd.username, loginMode: 'manual', priority: 1 });
    const other = await w.f.systemUser({ name: `other${EVIL}`, username: `xy${EVIL}`, password: 'unused', priority: 2 });
    await w.f.permission({ users: [op.id], assets: [asset.id, dead.id], systemUsers: [manual.id, other.id] });
    await s().commandFilters.create(SYSTEM_ACTOR, { name: `filter${EVIL}`, kind: 'regex', pattern: '^echo forbidden-', action: 'deny', users: [op.id] });

    const client = await ssh2Login(w.gw.port, { username: op.username, password });
    try {
      // vt100: the backend's own shell sets no window title, so every OSC seen would be ours.
      const screen = await openShell(client, { rows: 40, cols: 160, term: 'vt100' } as { rows: number; cols: number });
      // The menu and its asset table.
      const menu = await screen.waitFor(/termnames@bastion.*> $/m);
      assert.match(menu, /evil-web/);
      assert.match(menu, /comment/);
      // The dead asset: "choose a system user", then the error line.
      const deadRow = /(\d+)\s+dead-web/.exec(menu)![1]!;
      const choose = await screen.send(`${deadRow}\r`, /system user \[1\]: $/);
      assert.match(choose, /dead-web: choose a system user/);
      assert.match(choose, /1\) \S+ \(manual\)/);
      assert.match(choose, /2\) xy \(other\)/);
      const refusedPrompt = await screen.send('1\r', /password: $/);
      assert.match(refusedPrompt, /@dead-web's password: $/);
      const error = await screen.send(`${w.sshd.password}\r`, /termnames@bastion.*> $/m);
      assert.match(error, /cannot connect to dead-web/);
      // The live asset: choice, manual login prompt, "Connecting to", a refused command, "Connection to … closed".
      const evilRow = /(\d+)\s+evil-web/.exec(menu)![1]!;
      await screen.send(`${evilRow}\r`, /system user \[1\]: $/);
      const prompt = await screen.send('1\r', /password: $/);
      assert.match(prompt, /@evil-web's password: $/);
      const connecting = await screen.send(`${w.sshd.password}\r`, /\$ $/m);
      assert.match(connecting, /Connecting to evil-web as /);
      const refusal = await screen.send('echo forbidden-1\r', /command refused by filter 'filter'/);
      assert.match(refusal, /refused by filter 'filter'/);
      await screen.waitFor(/\$ $/m, screen.text.length - 3);
      const closed = await screen.send('exit\r', /termnames@bastion.*> $/m);
      assert.match(closed, /Connection to evil-web closed\./);
      screen.stream.write('q\r');
      await screen.whenClosed();
      assertClean(screen.text, 'interactive session');

      // An exec whose target text carries escapes: its error line on stderr.
      const exec = await ssh2Exec(client, 'true');
      assert.equal(exec.code, 255);
      assertClean(exec.stderr, 'exec without an asset');
    } finally {
      client.end();
    }
    const bad = await ssh2Login(w.gw.port, { username: `${op.username}@nosuch${EVIL}`, password });
    try {
      const res = await ssh2Exec(bad, 'true');
      assert.notEqual(res.code, 0);
      assert.match(res.stderr, /nosuch/);
      assertClean(res.stderr, 'unknown asset');
    } finally {
      bad.end();
    }
  });
});
