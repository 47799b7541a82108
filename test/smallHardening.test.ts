// Issue 12's smaller items, against the running product: a websocket with `Origin: null`
// is refused (403, not a 500); passwords like "password123" are too common; the session
// cookie is Secure behind a TLS-terminating proxy we trust (and only then); one public key
// belongs to one user.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { ApiClient, loggedIn } from './helpers/api.ts';
import { factories } from './helpers/factories.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';

let b: Bastion;
let admin: ApiClient;

before(async () => {
  b = await startBastion({ env: { BASTION_TRUST_PROXY: '127.0.0.1' } });
  admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
});
after(async () => { await b.stop(); await cleanup(); });

/** The status of a websocket upgrade request with these headers. */
function upgradeStatus(path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: b.http!.port, path, headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers } });
    req.on('response', (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve(res.statusCode ?? 101); });
    req.on('error', reject);
    req.end();
  });
}

test('a live-view upgrade with Origin: null or a malformed Origin is 403', async () => {
  const path = '/ws/sessions/3b8f3c1e-1d2c-4e5f-8a9b-0c1d2e3f4a5b/watch';
  for (const origin of ['null', 'not a url', 'http://']) {
    assert.equal(await upgradeStatus(path, { cookie: admin.cookie!, origin }), 403, origin);
  }
  // Same origin still gets past the check (to the 404 of an unknown session).
  assert.equal(await upgradeStatus(path, { cookie: admin.cookie!, origin: `http://127.0.0.1:${b.http!.port}` }), 404);
});

test('common passwords with digits or symbols appended, or look-alike letters, are refused', async () => {
  for (const password of ['password123', 'Password2024!', 'p@ssw0rd', 'admin12345', 'Welcome1', 'qwerty123', 'letmein99']) {
    const r = await admin.post('/users', { username: `pw${Math.random().toString(36).slice(2, 8)}`, password });
    assert.equal(r.status, 400, password);
    assert.equal(r.body.error.details.reason, 'password_too_common', password);
  }
  assert.equal((await admin.post('/users', { username: 'pwok', password: 'Purple-otter-climbs-7' })).status, 201);
});

describe('the session cookie', () => {
  const loginCookie = async (headers: Record<string, string>): Promise<string> => {
    const res = await fetch(`${b.baseUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
    assert.equal(res.status, 200);
    return res.headers.get('set-cookie') ?? '';
  };

  test('is Secure when a trusted proxy says the request came over https', async () => {
    assert.match(await loginCookie({ 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' }), /;\s*Secure/i);
  });

  test('is not Secure over plain http, or when the proxy says http', async () => {
    assert.doesNotMatch(await loginCookie({}), /Secure/i);
    assert.doesNotMatch(await loginCookie({ 'x-forwarded-proto': 'http' }), /Secure/i);
  });

  test("an untrusted peer's X-Forwarded-Proto is ignored", async () => {
    const other = await startBastion();
    try {
      const res = await fetch(`${other.baseUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
      assert.equal(res.status, 200);
      assert.doesNotMatch(res.headers.get('set-cookie') ?? '', /Secure/i);
    } finally {
      await other.stop();
    }
  });
});

test('one public key cannot be registered to two users (409)', async () => {
  const dir = makeTempDir('bastion-key-');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
  const publicKey = readFileSync(join(dir, 'k.pub'), 'utf8');
  const f = factories(b.services);
  const u1 = await f.user({ username: 'keyone' });
  const u2 = await f.user({ username: 'keytwo' });
  assert.equal((await admin.post(`/users/${u1.id}/keys`, { publicKey })).status, 201);
  const again = await admin.post(`/users/${u2.id}/keys`, { publicKey });
  assert.equal(again.status, 409);
  assert.doesNotMatch(again.body.error.message, /keyone/);
  // The same key with another comment is still the same key.
  const renamed = publicKey.trim().split(' ').slice(0, 2).join(' ') + ' someone-else@laptop';
  assert.equal((await admin.post(`/users/${u2.id}/keys`, { publicKey: renamed })).status, 409);
  assert.equal((await admin.get(`/users/${u2.id}/keys`)).body.items.length, 0);
});
