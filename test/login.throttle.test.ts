// Login throttling (issue 12 item 2, DESIGN rule 9) against the running HTTP server with real
// sockets. Requests come from chosen loopback addresses (127.0.0.x) so that one test plays the
// operator, an attacker elsewhere and a flood from one address.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { loggedIn } from './helpers/api.ts';
import { factories } from './helpers/factories.ts';
import { cleanup } from './helpers/tmp.ts';

let b: Bastion;
let f: ReturnType<typeof factories>;
const THRESHOLD = 5;

before(async () => {
  b = await startBastion({ env: { BASTION_LOCKOUT_THRESHOLD: String(THRESHOLD), BASTION_LOGIN_SLOWDOWN_THRESHOLD: '8', BASTION_HTTP_MAX_CONNECTIONS_PER_SOURCE: '0' } });
  f = factories(b.services);
});
after(async () => { await b?.stop(); await cleanup(); });

interface Reply { status: number; body: { error?: { code: string; message: string; details?: Record<string, unknown> } }; cookie: string | null }

/** POSTs JSON from a chosen loopback source address, on its own connection. */
function post(base: string, path: string, body: unknown, from = '127.0.0.1', cookie?: string): Promise<Reply> {
  const url = new URL(`/api/v1${path}`, base);
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({
      host: url.hostname, port: url.port, path: url.pathname, method: 'POST', localAddress: from, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...(cookie ? { cookie } : {}) },
    }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => {
        const setCookie = res.headers['set-cookie']?.[0]?.split(';')[0] ?? null;
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {}, cookie: setCookie });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}
const login = (username: string, password: string, from = '127.0.0.1') => post(b.baseUrl, '/auth/login', { username, password }, from);

async function rows(username: string): Promise<Array<{ ok: boolean; reason: string; clientAddress: string; method: string }>> {
  return (await b.services.auditLogs.logins({ username, limit: 1000 })).items.map((l) => ({ ok: l.ok, reason: l.reason, clientAddress: l.clientAddress, method: l.method }));
}
const count = (list: Array<{ reason: string }>, reason: string) => list.filter((r) => r.reason === reason).length;

test('149 wrong passwords in parallel, then the right one while they are in flight: exactly 5 are checked, every answer is the same 401', async () => {
  await f.user({ username: 'racer', password: 'Swift-pass-1234' });
  const wrong = Array.from({ length: 149 }, (_, i) => login('racer', `wrong-${i}-xxxx`));
  // Once the pair holds its five failures, the right password joins the flood still in flight.
  for (let i = 0; i < 400 && (await b.services.authentication.throttle.pairFailures('racer', '127.0.0.1')) < THRESHOLD; i++) await new Promise((r) => setTimeout(r, 25));
  const right = await login('racer', 'Swift-pass-1234');
  const replies = await Promise.all(wrong);
  assert.equal(right.status, 401);
  assert.deepEqual(replies.map((r) => r.status), Array(149).fill(401));
  for (const r of replies) assert.deepEqual(r.body, right.body, 'locked, wrong and right-but-locked read the same');
  assert.deepEqual(right.body.error, { code: 'unauthenticated', message: 'invalid username or password', details: { reason: 'invalid_credentials' } });
  const logged = await rows('racer');
  assert.equal(logged.length, 150);
  assert.equal(count(logged, 'invalid_credentials'), THRESHOLD, 'only the first five guesses were checked');
  assert.equal(count(logged, 'locked'), 150 - THRESHOLD);
  assert.equal(logged.filter((r) => r.ok).length, 0);
});

test('failures from one address lock that (user, address) pair only: the admin still logs in from elsewhere, and a locked, a wrong and an unknown user read the same', async () => {
  const attacker = '127.0.0.2';
  const wrong = [];
  for (let i = 0; i < THRESHOLD; i++) wrong.push(await login('admin', `guess-${i}-xxxx`, attacker));
  const lockedRight = await login('admin', ADMIN_PASSWORD, attacker);
  const unknown = await login('nobody-at-all', 'guess-xxxx', '127.0.0.9');
  for (const r of [...wrong, lockedRight, unknown]) {
    assert.equal(r.status, 401);
    assert.deepEqual(r.body, wrong[0]!.body);
  }
  const fromHome = await login('admin', ADMIN_PASSWORD, '127.0.0.1');
  assert.equal(fromHome.status, 200, 'the stranger did not lock the admin out');
  const logged = (await rows('admin')).filter((r) => r.clientAddress === attacker);
  assert.equal(count(logged, 'invalid_credentials'), THRESHOLD);
  assert.equal(count(logged, 'locked'), 1);
});

test('many failures on one account from many addresses slow it down but never lock it for everyone', async () => {
  await f.user({ username: 'popular', password: 'Liked-pass-1234' });
  // 10 failures (above the slowdown threshold of 8) from 10 addresses: no pair reaches its lock.
  for (let i = 0; i < 10; i++) assert.equal((await login('popular', `guess-${i}-xxxx`, `127.0.1.${i + 1}`)).status, 401);
  assert.ok((await b.services.authentication.throttle.accountDelayMs('popular')) > 0, 'attempts on the account are slowed down');
  assert.equal((await login('popular', 'Liked-pass-1234', '127.0.0.1')).status, 200);
  assert.equal((await login('popular', 'Liked-pass-1234', '127.0.1.1')).status, 200);
  assert.equal(count(await rows('popular'), 'locked'), 0);
});

test('wrong current passwords on /auth/password count and are logged: five lock the pair, and the login from there too', async () => {
  await f.user({ username: 'changer', password: 'Turn-pass-1234', mustChangePassword: false });
  const from = '127.0.0.3';
  const session = await login('changer', 'Turn-pass-1234', from);
  assert.equal(session.status, 200);
  for (let i = 0; i < THRESHOLD; i++) {
    const r = await post(b.baseUrl, '/auth/password', { oldPassword: `not-it-${i}-xx`, newPassword: 'Brand-new-pass-987' }, from, session.cookie!);
    assert.equal(r.status, 400);
    assert.equal(r.body.error?.message, 'current password is wrong');
  }
  const right = await post(b.baseUrl, '/auth/password', { oldPassword: 'Turn-pass-1234', newPassword: 'Brand-new-pass-987' }, from, session.cookie!);
  assert.equal(right.status, 400, 'the pair is locked: even the right current password is refused, with the same words');
  assert.equal(right.body.error?.message, 'current password is wrong');
  const logged = (await rows('changer')).filter((r) => r.method === 'password-change');
  assert.equal(count(logged, 'invalid_credentials'), THRESHOLD);
  assert.equal(count(logged, 'locked'), 1);
  assert.equal((await login('changer', 'Turn-pass-1234', from)).status, 401);
  assert.equal((await login('changer', 'Turn-pass-1234', '127.0.0.1')).status, 200);
});

test('an admin sees the locked pairs and clears one; the user logs in again from there', async () => {
  await f.user({ username: 'locked-out', password: 'Locked-pass-1234' });
  for (let i = 0; i < THRESHOLD; i++) await login('locked-out', `guess-${i}-xxxx`, '127.0.0.4');
  const admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  const locks = (await admin.get('/login-locks')).body as { items: Array<{ username: string; source: string; failures: number; lockedUntil: string }>; total: number };
  const mine = locks.items.find((l) => l.username === 'locked-out');
  assert.deepEqual(mine && { ...mine, lockedUntil: typeof mine.lockedUntil }, { username: 'locked-out', source: '127.0.0.4', failures: THRESHOLD, lockedUntil: 'string' });
  assert.equal((await login('locked-out', 'Locked-pass-1234', '127.0.0.4')).status, 401);
  const cleared = await admin.post('/login-locks/clear', { username: 'locked-out', source: '127.0.0.4' });
  assert.equal(cleared.status, 200);
  assert.deepEqual(cleared.body, { cleared: 1 });
  assert.equal((await admin.get('/login-locks')).body.items.some((l: { username: string }) => l.username === 'locked-out'), false);
  assert.equal((await login('locked-out', 'Locked-pass-1234', '127.0.0.4')).status, 200);
  const ops = (await admin.get('/audit/operations?limit=20')).body.items as Array<{ action: string; resourceType: string; resourceName: string }>;
  assert.ok(ops.some((o) => o.action === 'unlock' && o.resourceType === 'login_lock' && o.resourceName === 'locked-out from 127.0.0.4'));
  const user = (await admin.get('/login-locks')).status;
  assert.equal(user, 200);
  const op = await f.user({ username: 'plain-op', password: 'Simple-pass-1234', mustChangePassword: false });
  assert.ok(op);
  const opClient = await loggedIn(b.baseUrl, 'plain-op', 'Simple-pass-1234');
  assert.equal((await opClient.get('/login-locks')).status, 403, 'only admins see the locks');
});

test('per-address rate limit on failed logins, shared by every username: successes do not count, the flood gets 429, other addresses are untouched', async () => {
  const limited = await startBastion({ env: { BASTION_LOGIN_RATE_PER_MINUTE: '10', BASTION_HTTP_MAX_CONNECTIONS_PER_SOURCE: '0' } });
  try {
    // Successes give their attempt back: an operator logging in often is never limited.
    for (let i = 0; i < 12; i++) assert.equal((await post(limited.baseUrl, '/auth/login', { username: 'admin', password: ADMIN_PASSWORD }, '127.0.0.5')).status, 200);
    const flood = await Promise.all(Array.from({ length: 14 }, (_, i) => post(limited.baseUrl, '/auth/login', { username: `user${i}`, password: 'guess-xxxx' }, '127.0.0.5')));
    assert.equal(flood.filter((r) => r.status === 401).length, 10);
    const throttled = flood.filter((r) => r.status === 429);
    assert.equal(throttled.length, 4);
    assert.equal(throttled[0]!.body.error?.message, 'too many login attempts from your address; try again in a minute');
    assert.equal((await post(limited.baseUrl, '/auth/login', { username: 'admin', password: ADMIN_PASSWORD }, '127.0.0.5')).status, 429);
    assert.equal((await post(limited.baseUrl, '/auth/login', { username: 'admin', password: ADMIN_PASSWORD }, '127.0.0.6')).status, 200);
    const logged = (await limited.services.auditLogs.logins({ limit: 100 })).items.filter((l) => l.clientAddress === '127.0.0.5');
    assert.equal(logged.filter((l) => l.reason === 'rate_limited').length, 5);
  } finally {
    await limited.stop();
  }
});
