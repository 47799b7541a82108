// DESIGN rule 13 on the HTTP port: one source may hold only so many connections open, and a
// client that sends its headers slowly (or never) is cut off by the header timeout. Raw sockets
// from 127.0.0.2 play the attacker; a real login from 127.0.0.1 goes on meanwhile.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { allClosed, destroyAll, openRaw, type RawConn } from './helpers/rawSockets.ts';

const CAP = 10;
const HEADERS_TIMEOUT_S = 2;
let b: Bastion;
const held: RawConn[] = [];

before(async () => {
  b = await startBastion({
    env: {
      BASTION_HTTP_MAX_CONNECTIONS_PER_SOURCE: String(CAP), BASTION_HTTP_HEADERS_TIMEOUT_SECONDS: String(HEADERS_TIMEOUT_S),
      BASTION_HTTP_REQUEST_TIMEOUT_SECONDS: '30',
    },
  });
});
after(async () => {
  destroyAll(held);
  await b?.stop();
});

async function adminLogin(): Promise<number> {
  const r = await fetch(`${b.baseUrl}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  await r.arrayBuffer();
  return r.status;
}

test('one source holds at most BASTION_HTTP_MAX_CONNECTIONS_PER_SOURCE connections; idle ones are cut by the header timeout; others log in meanwhile', async () => {
  const port = b.http!.port;
  const conns = await openRaw(port, CAP + 5, '127.0.0.2', 50);
  held.push(...conns);
  // The five over the cap are closed at once; waited for, not slept on, on a loaded host.
  for (let i = 0; i < 100 && conns.filter((c) => c.closed).length < 5; i++) await new Promise((r) => setTimeout(r, 30));
  assert.equal(conns.filter((c) => c.closed).length, 5);
  assert.equal(conns.filter((c) => !c.closed).length, CAP);
  assert.equal(await adminLogin(), 200);
  // They never send a request: the header timeout closes them.
  assert.equal(await allClosed(conns, HEADERS_TIMEOUT_S * 1000 + 5000), true);
  // Room again for that source.
  const again = await openRaw(port, 1, '127.0.0.2');
  held.push(...again);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(again[0]!.closed, false);
});

test('a request whose headers trickle in (slowloris) gets 408 and is closed after the header timeout', async () => {
  const port = b.http!.port;
  const result = await new Promise<{ text: string; trickled: number }>((resolve) => {
    const sock = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.3' });
    let text = '';
    let trickled = 0;
    sock.on('data', (d: Buffer) => { text += d.toString(); });
    sock.on('error', () => undefined);
    sock.write('GET /api/v1/me HTTP/1.1\r\nHost: bastion\r\n');
    // One more header line every 300 ms, never the blank line; bounded to 60 lines.
    const timer = setInterval(() => {
      if (sock.destroyed || trickled >= 60) return;
      trickled++;
      sock.write(`X-Slow-${trickled}: a\r\n`);
    }, 300);
    sock.on('close', () => {
      clearInterval(timer);
      resolve({ text, trickled });
    });
  });
  assert.match(result.text, /^HTTP\/1\.1 408 Request Timeout/);
  assert.ok(result.trickled < 60, `closed only after ${result.trickled} header lines`);
});
