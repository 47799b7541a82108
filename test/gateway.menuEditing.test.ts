// Line editing at the menu prompt, as readline users expect it: the cursor moves (Left/Right,
// Home/End, Ctrl-A/E/B/F), Backspace and Delete work at the cursor, Ctrl-K/U/W cut, Up/Down
// recall. Checked by what the menu answers for the submitted line, through a real SSH
// session, and by the line editor's own drawing (wide characters included).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { LineEditor } from '../gateway/menu/lineEditor.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import type { ClientChannel } from 'ssh2';
import { ALICE_PASSWORD, openShell, ssh2Login, startWorld, type Screen, type World } from './gatewayFixture.ts';
import { unsentAfterFlood } from './helpers/unreadingClient.ts';

const skip = sshdUnavailable();

/** Applies keys to an editor and returns the line and what the terminal was sent. */
function typed(keys: Array<(e: LineEditor) => string>, echo = true): { text: string; cursor: number; drawn: string } {
  const e = new LineEditor(echo, 1024);
  let drawn = '';
  for (const k of keys) drawn += k(e);
  return { text: e.text, cursor: e.cursor, drawn };
}
const ins = (s: string) => (e: LineEditor) => [...s].map((c) => e.insert(c)).join('');

describe('the line editor (no sshd needed)', () => {
  test('inserting in the middle redraws the tail and puts the cursor back', () => {
    const r = typed([ins('abd'), (e) => e.left(), ins('c')]);
    assert.deepEqual([r.text, r.cursor], ['abcd', 3]);
    assert.equal(r.drawn, 'abd' + '\b' + 'cd\b');
  });

  test('Backspace at the end draws as "\\b \\b"; Delete in the middle closes the gap', () => {
    assert.equal(typed([ins('ab'), (e) => e.backspace()]).drawn, 'ab\b \b');
    const r = typed([ins('abc'), (e) => e.home(), (e) => e.deleteForward()]);
    assert.deepEqual([r.text, r.cursor], ['bc', 0]);
    assert.equal(r.drawn, 'abc' + '\b\b\b' + 'bc \b\b\b');
  });

  test('Ctrl-K, Ctrl-U and Ctrl-W cut relative to the cursor', () => {
    assert.deepEqual(typed([ins('deploy@web01'), (e) => e.home(), (e) => e.right(), (e) => e.killToEnd()]).text, 'd');
    const u = typed([ins('junk web01'), (e) => e.left(), (e) => e.left(), (e) => e.left(), (e) => e.left(), (e) => e.left(), (e) => e.killToStart()]);
    assert.deepEqual([u.text, u.cursor], ['web01', 0]);
    const w = typed([ins('one two  three'), (e) => e.left(), (e) => e.left(), (e) => e.left(), (e) => e.left(), (e) => e.left(), (e) => e.killWordBack()]);
    assert.deepEqual([w.text, w.cursor], ['one three', 4]);
  });

  test('wide characters move the cursor two columns; a password draws nothing', () => {
    const r = typed([ins('日本'), (e) => e.left()]);
    assert.equal(r.drawn, '日本\b\b');
    const p = typed([ins('secret'), (e) => e.home(), (e) => e.deleteForward()], false);
    assert.deepEqual([p.text, p.drawn], ['ecret', '']);
  });
});

describe('menu line editing over SSH', { skip }, () => {
  let w: World;
  let screen: Screen;
  let client: Awaited<ReturnType<typeof ssh2Login>>;

  before(async () => {
    w = await startWorld();
    client = await ssh2Login(w.gw.port, { username: 'alice', password: ALICE_PASSWORD });
    screen = await openShell(client);
    await screen.waitFor(/alice.*@bastion.*> $/);
  });
  after(async () => {
    client?.end();
    await w?.stop();
  });

  /** Types keys and Enter; returns the name the menu says it did not find. */
  async function submitted(keys: string): Promise<string> {
    const out = await screen.send(`${keys}\r`, /> $/);
    const m = /no asset named '([^']*)' is granted to you/.exec(out);
    assert.ok(m, `no answer naming the line in: ${JSON.stringify(out)}`);
    return m[1]!;
  }

  test('Left/Right and Home/End (both encodings) move the cursor; typing inserts there', async () => {
    assert.equal(await submitted('acd\x1b[D\x1b[Db'), 'abcd');
    assert.equal(await submitted('bcd\x1b[Ha\x1b[Fe'), 'abcde');
    assert.equal(await submitted('bcd\x1bOHa\x1bOFe'), 'abcde');
    assert.equal(await submitted('bcd\x1b[1~a\x1b[4~e'), 'abcde');
    assert.equal(await submitted('ac\x1b[D\x1b[C\x1b[D' + 'b'), 'abc');
  });

  test('Ctrl-A/E/B/F, Delete and Backspace at the cursor', async () => {
    assert.equal(await submitted('bc\x01a\x05d'), 'abcd');
    assert.equal(await submitted('axbc\x01\x06\x1b[3~'), 'abc');
    assert.equal(await submitted('abxc\x02\x7f'), 'abc');
    assert.equal(await submitted('abc\x02\x02\x04'), 'ac');
  });

  test('Ctrl-K, Ctrl-U and Ctrl-W cut relative to the cursor; Up recalls the edited line', async () => {
    assert.equal(await submitted('abcxyz\x1b[D\x1b[D\x1b[D\x0b'), 'abc');
    assert.equal(await submitted('junk abc\x1b[D\x1b[D\x1b[D\x15\x05'), 'abc');
    assert.equal(await submitted('one two abc\x1b[D\x1b[D\x1b[D\x17\x17'), 'abc');
    assert.equal(await submitted('\x1b[A'), 'abc');
    assert.equal(await submitted('zzz\x1b[A\x1b[A\x1b[B\x1b[B'), 'zzz');
  });

  test('an operator who types without reading what the menu answers is read no further once that output waits (rule 13)', async () => {
    // Each Enter makes a prompt, each Up a whole line: the gateway queued the echo of a client
    // that reads nothing without bound (8 MiB of Enter grew it by 570 MiB). 6 MiB of Enter here:
    // the gateway may answer about 4 MiB (the client's window, then its own buffer), ~160,000 lines.
    const flooder = await ssh2Login(w.gw.port, { username: 'alice', password: ALICE_PASSWORD });
    try {
      const menu = await new Promise<ClientChannel>((resolve, reject) => flooder.shell({ rows: 24, cols: 80, term: 'xterm' }, (err, ch) => (err ? reject(err) : resolve(ch))));
      await new Promise<void>((resolve) => menu.once('data', () => resolve()));
      // The round trip: an exec the gateway refuses.
      const unsent = await unsentAfterFlood(flooder, menu, Buffer.alloc(32 * 1024, '\r'), 192, 'probe');
      assert.ok(unsent > 0, 'the gateway read all 6 MiB of Enter from a client that reads nothing');
    } finally {
      flooder.end();
    }
  });
});
