// A connection the bastion ends says why in SSH_MSG_DISCONNECT's description (gateway/disconnectWith.ts),
// which a client prints as it comes: PuTTY and ssh2-based tools do not escape it as OpenSSH does.
// So the text goes through the one sanitizer first (DESIGN rule 13), and is cut by characters, never
// inside one. Real ssh2 server and client over loopback; the client's error carries the description
// exactly as it arrived.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import { disconnectWith, DISCONNECT_REASON, type DisconnectReason } from '../gateway/disconnectWith.ts';

let server: InstanceType<typeof ssh2.Server>;
let port: number;
/** What the server says when the next client is ready. */
let next: { reason: DisconnectReason; text: string } = { reason: DISCONNECT_REASON.TOO_MANY_CONNECTIONS, text: '' };

before(async () => {
  const hostKey = ssh2.utils.generateKeyPairSync('ed25519').private;
  server = new ssh2.Server({ hostKeys: [hostKey] }, (conn) => {
    conn.on('error', () => undefined);
    conn.on('authentication', (ctx) => ctx.accept());
    conn.on('ready', () => disconnectWith(conn, next.reason, next.text));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** The description the client received with the disconnect, exactly (ssh2 makes it the error's message). */
function disconnectSeen(reason: DisconnectReason, text: string): Promise<{ code: unknown; message: string }> {
  next = { reason, text };
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    const timer = setTimeout(() => { c.destroy(); reject(new Error('no disconnect within 10 s')); }, 10_000);
    c.on('error', (err: Error & { code?: unknown }) => { clearTimeout(timer); resolve({ code: err.code, message: err.message }); });
    c.on('close', () => { clearTimeout(timer); reject(new Error('closed without a disconnect error')); });
    c.connect({ host: '127.0.0.1', port, username: 'u', password: 'p', readyTimeout: 10_000 });
  });
}

test('a disconnect reason reaches the client without any escape sequence or control character (rule 13)', async () => {
  const evil = [
    '[bastion] connection closed: ',
    '\x1b]52;c;Q0xJUEJPQVJE\x07', // OSC 52: write the operator's clipboard
    '\x1b]0;OSCTITLE\x1b\\', // window title
    '\x1b[2J\x1b[H', // clear screen, cursor home
    '\u009b2J', // C1 CSI
    '\x1bP+q544e\x1b\\', // DCS
    'locked\r\n[bastion] fake second line', // a line break that would forge another line
    '\u202eevil', // right-to-left override
    '\x07\x08\x1b',
  ].join('');
  const seen = await disconnectSeen(DISCONNECT_REASON.TOO_MANY_CONNECTIONS, evil);
  assert.equal(seen.code, 12);
  assert.equal(seen.message, '[bastion] connection closed: locked[bastion] fake second lineevil');
});

test('a long reason is cut at 400 characters, never inside one (valid UTF-8 arrives)', async () => {
  const seen = await disconnectSeen(DISCONNECT_REASON.SERVICE_NOT_AVAILABLE, `[bastion] ${'界'.repeat(500)}`);
  assert.equal(seen.code, 7);
  assert.equal(seen.message, `[bastion] ${'界'.repeat(390)}`);
  assert.ok(!seen.message.includes('\ufffd'), 'a character was cut in half');
});
