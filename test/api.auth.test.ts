import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { currentTotp } from '../core/identity/totp.ts';
import { hash, Algorithm } from '@node-rs/argon2';
import { UserEntity } from '../core/db/entities/index.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { ApiClient, loggedIn } from './helpers/api.ts';
import { factories } from './helpers/factories.ts';
import { cleanup } from './helpers/tmp.ts';

let b: Bastion;
let f: ReturnType<typeof factories>;
before(async () => {
  b = await startBastion();
  f = factories(b.services);
});
after(async () => { await b.stop(); await cleanup(); });

test('a request without a session is 401 with the error shape', async () => {
  const r = await new ApiClient(b.baseUrl).get('/users');
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'unauthenticated');
  assert.equal(typeof r.body.error.message, 'string');
});

test('admin logs in; the cookie is HttpOnly and SameSite=Strict; /me tells abilities', async () => {
  const c = new ApiClient(b.baseUrl);
  const r = await c.login('admin', ADMIN_PASSWORD);
  assert.equal(r.status, 200);
  const setCookie = r.headers.get('set-cookie') ?? '';
  assert.match(setCookie, /HttpOnly/i);
  assert.match(setCookie, /SameSite=Strict/i);
  const me = await c.get('/me');
  assert.equal(me.body.username, 'admin');
  assert.deepEqual(me.body.abilities, ['manage', 'audit', 'self']);
  assert.equal(me.body.passwordHash, undefined);
});

test('wrong password and unknown user get the identical answer, and both are logged', async () => {
  await f.user({ username: 'carol', password: 'Cxrol-pass-123' });
  const wrong = await new ApiClient(b.baseUrl).login('carol', 'nope-nope-nope');
  const unknown = await new ApiClient(b.baseUrl).login('nobody-here', 'nope-nope-nope');
  assert.equal(wrong.status, 401);
  assert.equal(unknown.status, 401);
  assert.deepEqual(wrong.body, unknown.body);
  const logs = await b.services.auditLogs.logins({ search: 'nobody-here' });
  assert.equal(logs.items[0]?.ok, false);
});

test('five failures lock the (username, address) pair, even against the right password, with the answer a wrong password gets; an admin unlock restores it', async () => {
  const u = await f.user({ username: 'dave', password: 'Dxve-pass-1234' });
  const wrongs = [];
  for (let i = 0; i < 5; i++) wrongs.push(await new ApiClient(b.baseUrl).login('dave', 'wrong-' + i + '-xxxx'));
  for (const w of wrongs) assert.equal(w.status, 401);
  const locked = await new ApiClient(b.baseUrl).login('dave', 'Dxve-pass-1234');
  assert.equal(locked.status, 401);
  assert.deepEqual(locked.body, wrongs[0]!.body, 'rule 9: locked reads like a wrong password');
  const admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  const locks = (await admin.get('/login-locks')).body;
  assert.deepEqual(locks.items.map((l: { username: string; source: string; failures: number }) => [l.username, l.source, l.failures]), [['dave', '127.0.0.1', 5]]);
  assert.equal((await admin.post(`/users/${u.id}/unlock`)).status, 200);
  assert.equal((await admin.get('/login-locks')).body.total, 0);
  assert.equal((await new ApiClient(b.baseUrl).login('dave', 'Dxve-pass-1234')).status, 200);
});

test('passwords are hashed with argon2id at 7 MiB and 5 passes; a hash made with the former 19 MiB / 2 passes still logs in and is hashed again', async () => {
  const dana = await f.user({ username: 'dana', password: 'Dxna-pass-123' });
  const repo = b.services.ds.getRepository(UserEntity);
  const stored = (await repo.findOneByOrFail({ id: dana.id })).passwordHash ?? '';
  assert.match(stored, /^\$argon2id\$v=19\$m=7168,t=5,p=1\$/);
  const former = await hash('Dxna-pass-123', { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 });
  await repo.update({ id: dana.id }, { passwordHash: former });
  assert.equal((await new ApiClient(b.baseUrl).login('dana', 'Dxna-pass-124')).status, 401);
  assert.equal((await repo.findOneByOrFail({ id: dana.id })).passwordHash, former, 'a wrong password changes nothing');
  assert.equal((await new ApiClient(b.baseUrl).login('dana', 'Dxna-pass-123')).status, 200);
  const again = (await repo.findOneByOrFail({ id: dana.id })).passwordHash ?? '';
  assert.match(again, /^\$argon2id\$v=19\$m=7168,t=5,p=1\$/);
  assert.equal((await new ApiClient(b.baseUrl).login('dana', 'Dxna-pass-123')).status, 200);
});

test('a user who must change the password can do nothing else until they do', async () => {
  await f.user({ username: 'erin', password: 'Exin-pass-1234', mustChangePassword: true });
  const c = await loggedIn(b.baseUrl, 'erin', 'Exin-pass-1234');
  assert.equal((await c.get('/me')).body.mustChangePassword, true);
  const blocked = await c.get('/me/assets');
  assert.equal(blocked.status, 403);
  assert.equal(blocked.body.error.details.reason, 'password_change_required');
  const weak = await c.post('/auth/password', { oldPassword: 'Exin-pass-1234', newPassword: 'short' });
  assert.equal(weak.status, 400);
  assert.equal(weak.body.error.details.field, 'newPassword');
  assert.equal((await c.post('/auth/password', { oldPassword: 'Exin-pass-1234', newPassword: 'Exin-new-pass-5678' })).status, 204);
  assert.equal((await c.get('/me/assets')).status, 200);
});

test('first start without BASTION_ADMIN_PASSWORD: admin/admin works and must change', async () => {
  const fresh = await startBastion({ env: { BASTION_ADMIN_PASSWORD: undefined as unknown as string } });
  try {
    const c = await loggedIn(fresh.baseUrl, 'admin', 'admin');
    assert.equal((await c.get('/me')).body.mustChangePassword, true);
    assert.equal((await c.get('/users')).status, 403);
    assert.equal((await c.post('/auth/password', { oldPassword: 'admin', newPassword: 'A-much-better-one-9' })).status, 204);
    assert.equal((await c.get('/users')).status, 200);
  } finally {
    await fresh.stop();
  }
});

test('logout revokes the session server-side; the old cookie no longer works', async () => {
  const c = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  const cookie = c.cookie;
  assert.equal((await c.post('/auth/logout')).status, 204);
  const replay = new ApiClient(b.baseUrl);
  replay.cookie = cookie;
  assert.equal((await replay.get('/me')).status, 401);
});

test('disabling a user ends their web session at once', async () => {
  const u = await f.user({ username: 'frank', password: 'Fxank-pass-1234' });
  const c = await loggedIn(b.baseUrl, 'frank', 'Fxank-pass-1234');
  assert.equal((await c.get('/me')).status, 200);
  await b.services.users.update(SYSTEM_ACTOR, u.id, { active: false });
  assert.equal((await c.get('/me')).status, 401);
  assert.equal((await new ApiClient(b.baseUrl).login('frank', 'Fxank-pass-1234')).status, 401);
});

test('a password change ends the other sessions of that user', async () => {
  await f.user({ username: 'gina', password: 'Gxna-pass-1234' });
  const one = await loggedIn(b.baseUrl, 'gina', 'Gxna-pass-1234');
  const two = await loggedIn(b.baseUrl, 'gina', 'Gxna-pass-1234');
  assert.equal((await one.post('/auth/password', { oldPassword: 'Gxna-pass-1234', newPassword: 'Gxna-pass-5678' })).status, 204);
  assert.equal((await one.get('/me')).status, 200);
  assert.equal((await two.get('/me')).status, 401);
});

test('TOTP enrolment, then login needs the code; a wrong code is refused', async () => {
  await f.user({ username: 'hana', password: 'Hxna-pass-1234' });
  const c = await loggedIn(b.baseUrl, 'hana', 'Hxna-pass-1234');
  const start = await c.post('/me/totp');
  assert.equal(start.status, 201);
  assert.match(start.body.uri, /^otpauth:\/\/totp\//);
  assert.equal((await c.post('/me/totp/confirm', { code: '000000' })).status, 400);
  assert.equal((await c.post('/me/totp/confirm', { code: currentTotp(start.body.secret) })).status, 200);
  const noCode = await new ApiClient(b.baseUrl).login('hana', 'Hxna-pass-1234');
  assert.equal(noCode.status, 401);
  assert.equal(noCode.body.error.details.reason, 'totp_required');
  const badCode = await new ApiClient(b.baseUrl).login('hana', 'Hxna-pass-1234', '123456');
  assert.equal(badCode.status, 401);
  assert.equal(badCode.body.error.details.reason, 'invalid_totp');
  // The auditor's view of those attempts: the missing code is not a guess, the wrong one is.
  const admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  const attempts = async () => ((await admin.get('/audit/logins?username=hana&limit=100')).body.items as { ok: boolean; channel: string; reason: string; createdAt: string }[])
    .sort((x, y) => x.createdAt.localeCompare(y.createdAt)).map((l) => `${l.ok ? 'ok' : 'fail'} ${l.channel} ${l.reason}`);
  assert.deepEqual(await attempts(), ['ok web ok', 'fail web invalid_totp']);
  const replay = await new ApiClient(b.baseUrl).login('hana', 'Hxna-pass-1234', currentTotp(start.body.secret));
  assert.equal(replay.status, 401, 'the enrolment code cannot be used again');
  const ok = await new ApiClient(b.baseUrl).login('hana', 'Hxna-pass-1234', currentTotp(start.body.secret, 1));
  assert.equal(ok.status, 200);
  const again = await new ApiClient(b.baseUrl).login('hana', 'Hxna-pass-1234', currentTotp(start.body.secret, 1));
  assert.equal(again.status, 401, 'a code works once');
  // A code just used is refused with its own reason, so the page can say "wait for the next code".
  assert.deepEqual(await attempts(), ['ok web ok', 'fail web invalid_totp', 'fail web totp_reused', 'ok web ok', 'fail web totp_reused']);
  // Each wrong code counts: with one failure since the last success, threshold - 1 more lock the account.
  for (let i = 1; i < b.config.lockoutThreshold; i++) assert.equal((await new ApiClient(b.baseUrl).login('hana', 'Hxna-pass-1234', '00000' + i)).body.error.details.reason, 'invalid_totp');
  const locked = await new ApiClient(b.baseUrl).login('hana', 'Hxna-pass-1234', currentTotp(start.body.secret, 2));
  assert.equal(locked.status, 401);
  assert.equal(locked.body.error.details.reason, 'invalid_credentials', 'rule 9: the lock is not told');
  assert.equal((await attempts()).at(-1), 'fail web locked');
  await b.services.users.setLock(SYSTEM_ACTOR, (await b.services.users.findByUsername('hana'))!.id, false, 0);
  const dbUser = await b.services.users.findByUsername('hana');
  assert.ok(dbUser?.totpSecret?.startsWith('v1:'), 'the TOTP secret is sealed at rest');
});

test('API tokens: shown once, stored hashed, work as bearer, revocable', async () => {
  const c = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  const created = await c.post('/me/tokens', { name: 'ci' });
  assert.equal(created.status, 201);
  const token: string = created.body.token;
  assert.match(token, /^bst_/);
  const listed = await c.get('/me/tokens');
  assert.equal(JSON.stringify(listed.body).includes(token), false);
  const bearer = new ApiClient(b.baseUrl);
  bearer.token = token;
  assert.equal((await bearer.get('/users')).status, 200);
  assert.equal((await c.delete(`/me/tokens/${created.body.id}`)).status, 204);
  assert.equal((await bearer.get('/users')).status, 401);
  const garbage = new ApiClient(b.baseUrl);
  garbage.token = 'bst_not-a-real-token';
  assert.equal((await garbage.get('/me')).status, 401);
});

// Who may call which route (every route × every role, websockets included) is test/api.roles.test.ts.

test('mutating requests that are not JSON are refused with 415 and change nothing', async () => {
  const c = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  const before = (await c.get('/users')).body.total;
  const r = await c.request('POST', '/users', 'username=mallory', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(r.status, 415);
  assert.equal((await c.get('/users')).body.total, before);
});

test('security headers are set on API responses', async () => {
  const r = await new ApiClient(b.baseUrl).get('/health');
  assert.match(r.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  assert.doesNotMatch(r.headers.get('content-security-policy') ?? '', /script-src[^;]*unsafe-inline/);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(r.headers.get('x-powered-by'), null);
});

test('the client address is the socket peer; X-Forwarded-For is ignored unless trusted', async () => {
  await new ApiClient(b.baseUrl).request('POST', '/auth/login', { username: 'xff-probe', password: 'x' }, { 'x-forwarded-for': '203.0.113.9' });
  const logs = await b.services.auditLogs.logins({ username: 'xff-probe' });
  assert.equal(logs.items[0]?.clientAddress, '127.0.0.1');
  const trusting = await startBastion({ env: { BASTION_TRUST_PROXY: '127.0.0.1/32' } });
  try {
    await new ApiClient(trusting.baseUrl).request('POST', '/auth/login', { username: 'xff-probe', password: 'x' }, { 'x-forwarded-for': '203.0.113.9' });
    const l2 = await trusting.services.auditLogs.logins({ username: 'xff-probe' });
    assert.equal(l2.items[0]?.clientAddress, '203.0.113.9');
  } finally {
    await trusting.stop();
  }
});
