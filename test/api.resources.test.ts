import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { keygen } from './helpers/keys.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { cleanup } from './helpers/tmp.ts';
import { startPostgres, type Postgres } from './helpers/postgres.ts';

const ed25519Pub = () => keygen('ed25519').publicKey;
/** SSH keys and API tokens per user in these suites. */
const CAP = 4;
const rsaPub = (bits: number) => keygen('rsa', bits).publicKey;

/** The resource API against one database backend: the same behaviour on SQLite and PostgreSQL. */
function resourceSuite(label: string, env: () => Record<string, string> | null) {
  describe(`resources API (${label})`, () => {
  let b: Bastion;
  let admin: ApiClient;
  before(async () => {
    const e = env();
    if (e === null) return;
    b = await startBastion({ env: { ...e, BASTION_MAX_SSH_KEYS_PER_USER: String(CAP), BASTION_MAX_API_TOKENS_PER_USER: String(CAP) } });
    admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  });
  after(async () => { await b?.stop(); });
  const test = (name: string, fn: () => Promise<void>) => testOrSkip(name, fn, () => b === undefined);

  test('users: create, list with search, patch, and every change in the operation log without secrets', async () => {
    const created = await admin.post('/users', { username: 'kate', name: 'Kate', email: 'kate@example.com', password: 'Some-long-pass-1', role: 'user' });
    assert.equal(created.status, 201);
    assert.equal(created.body.username, 'kate');
    assert.equal(created.body.mustChangePassword, true, 'an admin-set password must be changed');
    assert.equal('password' in created.body, false);
    const dup = await admin.post('/users', { username: 'kate' });
    assert.equal(dup.status, 409);
    const list = await admin.get('/users?search=KAT');
    assert.deepEqual(list.body.items.map((u: { username: string }) => u.username), ['kate']);
    const patched = await admin.patch(`/users/${created.body.id}`, { name: 'Kate B', role: 'auditor' });
    assert.equal(patched.body.name, 'Kate B');
    assert.equal(patched.body.role, 'auditor');
    const ops = await admin.get('/audit/operations?resourceType=user');
    const entry = ops.body.items.find((o: { resourceName: string; action: string }) => o.resourceName === 'kate' && o.action === 'create');
    assert.ok(entry, 'create is logged');
    assert.equal(entry.actor.username, 'admin');
    assert.equal(entry.clientAddress, '127.0.0.1');
    assert.equal(JSON.stringify(ops.body).includes('Some-long-pass-1'), false);
  });

  test('the last admin cannot be demoted, disabled or deleted; nobody deletes themselves', async () => {
    const me = (await admin.get('/me')).body;
    assert.equal((await admin.patch(`/users/${me.id}`, { active: false })).status, 403);
    assert.equal((await admin.delete(`/users/${me.id}`)).status, 403);
  });

  test('user groups with members, and the user shows its groups', async () => {
    const u = (await admin.post('/users', { username: 'liam' })).body;
    const g = await admin.post('/user-groups', { name: 'ops', users: [u.id] });
    assert.equal(g.status, 201);
    assert.deepEqual(g.body.users.map((x: { id: string }) => x.id), [u.id]);
    assert.deepEqual((await admin.get(`/users/${u.id}`)).body.groups.map((x: { name: string }) => x.name), ['ops']);
    assert.equal((await admin.post('/user-groups', { name: 'bad', users: ['7d1c6a43-2d0b-4a52-9a5c-3c1f0e0e0e0e'] })).status, 400);
    assert.equal((await admin.delete(`/user-groups/${g.body.id}`)).status, 204);
  });

  test('nodes: tree, rename, move (not under itself), delete only when empty', async () => {
    const tree = (await admin.get('/nodes')).body.items;
    const root = tree.find((n: { parent: string | null }) => n.parent === null);
    assert.equal(root.name, 'Default');
    const a = (await admin.post('/nodes', { name: 'prod' })).body;
    assert.equal(a.parent, root.id);
    const child = (await admin.post('/nodes', { name: 'web', parent: a.id })).body;
    assert.equal((await admin.patch(`/nodes/${a.id}`, { parent: child.id })).status, 400);
    assert.equal((await admin.patch(`/nodes/${child.id}`, { name: 'frontend' })).body.name, 'frontend');
    assert.equal((await admin.post('/nodes', { name: 'frontend', parent: a.id })).status, 409);
    const asset = (await admin.post('/assets', { name: 'web-n1', address: '10.0.0.1', nodes: [child.id] })).body;
    assert.equal((await admin.delete(`/nodes/${child.id}`)).status, 409);
    assert.equal((await admin.delete(`/nodes/${a.id}`)).status, 409);
    assert.equal((await admin.delete(`/nodes/${root.id}`)).status, 409);
    const underA = await admin.get(`/assets?node=${a.id}`);
    assert.deepEqual(underA.body.items.map((x: { name: string }) => x.name), ['web-n1'], 'assets of a node include descendants');
    await admin.delete(`/assets/${asset.id}`);
    assert.equal((await admin.delete(`/nodes/${child.id}`)).status, 204);
  });

  test('assets: create on the root node by default, search by address and comment, validation of address and port', async () => {
    const a = await admin.post('/assets', { name: 'db01', address: '192.0.2.10', port: 2200, comment: 'primary postgres', labels: ['db'] });
    assert.equal(a.status, 201);
    assert.equal(a.body.nodes[0].name, 'Default');
    assert.equal((await admin.get('/assets?search=192.0.2.10')).body.total, 1);
    assert.equal((await admin.get('/assets?search=POSTGRES')).body.total, 1);
    const bad = await admin.post('/assets', { name: 'x', address: 'not a host!', port: 70000 });
    assert.equal(bad.status, 400);
    assert.ok(['address', 'port'].includes(bad.body.error.details.field));
    assert.equal((await admin.post('/assets', { name: 'db01', address: '192.0.2.11' })).status, 409);
    assert.equal((await admin.get(`/assets/${a.body.id}/host-key`)).status, 404);
  });

  test('system users, admin users and users: secrets are write-only, sealed at rest, and neither they nor their ciphertext is ever returned', async () => {
    const pem = keygen('ed25519').privateKey;
    const su = await admin.post('/system-users', { name: 'deploy', username: 'deploy', password: 'Backend-secret-1', privateKey: pem, priority: 10 });
    assert.equal(su.status, 201);
    assert.equal(su.body.hasPassword, true);
    assert.equal(su.body.hasPrivateKey, true);
    const au = await admin.post('/admin-users', { name: 'root-admin', username: 'root', password: 'Root-secret-1', privateKey: pem });
    assert.equal(au.status, 201);
    const u = await admin.post('/users', { username: 'sam', password: 'Sam-login-pass-1', mustChangePassword: false });
    const sam = await loggedIn(b.baseUrl, 'sam', 'Sam-login-pass-1');
    const totp = await sam.post('/me/totp');
    assert.equal(totp.status, 201, 'the enrolment itself shows the secret once, to its owner');

    // What sits in the database: sealed values, hashes.
    const suRow = await b.services.systemUsers.get(su.body.id);
    const auRow = await b.services.adminUsers.get(au.body.id);
    const userRow = (await b.services.users.findByUsername('sam'))!;
    for (const sealed of [suRow.password, suRow.privateKey, auRow.password, auRow.privateKey]) assert.match(sealed ?? '', /^v1:/, 'sealed at rest');
    assert.equal(b.services.systemUsers.secrets(suRow).password?.reveal(), 'Backend-secret-1');
    const atRest = [suRow.password, suRow.privateKey, auRow.password, auRow.privateKey, userRow.passwordHash, userRow.totpSecret].filter((x): x is string => Boolean(x));
    assert.equal(atRest.length, 6);

    // Every response that shows these accounts, to an admin and to the owner.
    const responses: Record<string, unknown> = {
      'POST /system-users': su.body,
      'GET /system-users': (await admin.get('/system-users')).body,
      'GET /system-users/:id': (await admin.get(`/system-users/${su.body.id}`)).body,
      'PATCH /system-users/:id': (await admin.patch(`/system-users/${su.body.id}`, { comment: 'touched' })).body,
      'POST /admin-users': au.body,
      'GET /admin-users': (await admin.get('/admin-users')).body,
      'GET /admin-users/:id': (await admin.get(`/admin-users/${au.body.id}`)).body,
      'PATCH /admin-users/:id': (await admin.patch(`/admin-users/${au.body.id}`, { comment: 'touched' })).body,
      'POST /users': u.body,
      'GET /users': (await admin.get('/users')).body,
      'GET /users/:id': (await admin.get(`/users/${u.body.id}`)).body,
      'GET /me': (await sam.get('/me')).body,
    };
    const operations = (await admin.get('/audit/operations?limit=1000')).body;
    const SECRET_KEYS = new Set(['password', 'privateKey', 'passwordHash', 'totpSecret', 'secret', 'token']);
    const secretKeysIn = (v: unknown, at: string, out: string[]) => {
      if (Array.isArray(v)) v.forEach((x, i) => secretKeysIn(x, `${at}[${i}]`, out));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) {
        if (SECRET_KEYS.has(k)) out.push(`${at}.${k}`);
        secretKeysIn(x, `${at}.${k}`, out);
      }
      return out;
    };
    const leaks: string[] = [];
    for (const [name, body] of Object.entries(responses)) {
      leaks.push(...secretKeysIn(body, name, []));
    }
    // The operation log names the changed fields, with the values redacted.
    const logged = secretKeysIn(operations, 'operations', []);
    assert.ok(logged.length >= 4, 'the operation log names secret fields that were set');
    for (const path of logged) {
      const value = path.replace(/^operations/, '').split(/\.|\[|\]/).filter(Boolean).reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], operations);
      if (value !== '<redacted>' && value !== null) leaks.push(`${path} = ${JSON.stringify(value).slice(0, 40)}`);
    }
    assert.deepEqual(leaks, [], 'secret fields in responses');
    const all = JSON.stringify([responses, operations]);
    for (const plain of ['Backend-secret-1', 'Root-secret-1', 'Sam-login-pass-1', 'PRIVATE KEY', totp.body.secret]) assert.equal(all.includes(plain), false, `plaintext ${plain.slice(0, 12)}… returned`);
    for (const stored of atRest) {
      assert.equal(all.includes(stored), false, 'a sealed value or hash was returned whole');
      assert.equal(all.includes(stored.slice(-24)), false, 'a piece of a sealed value or hash was returned');
    }
    assert.doesNotMatch(all, /v1:[A-Za-z0-9+/=_-]{16,}|\$argon2/, 'something that looks sealed or hashed was returned');

    const cleared = await admin.patch(`/system-users/${su.body.id}`, { password: null });
    assert.equal(cleared.body.hasPassword, false);
    assert.equal(cleared.body.hasPrivateKey, true);
    assert.equal((await b.services.systemUsers.get(su.body.id)).password, null);
    assert.equal((await admin.post('/system-users', { name: 'badkey', username: 'x', privateKey: 'not a key' })).status, 400);
  });

  test('permissions: relations as id arrays; who-can-reach and what-can-user-reach come from core/access', async () => {
    const u = (await admin.post('/users', { username: 'mia' })).body;
    const g = (await admin.post('/user-groups', { name: 'dba', users: [u.id] })).body;
    const n = (await admin.post('/nodes', { name: 'databases' })).body;
    const a = (await admin.post('/assets', { name: 'pg01', address: '192.0.2.20', nodes: [n.id] })).body;
    const su = (await admin.post('/system-users', { name: 'postgres', username: 'postgres', password: 'x-secret-x' })).body;
    const p = await admin.post('/permissions', { name: 'dba-on-db', userGroups: [g.id], nodes: [n.id], systemUsers: [su.id], actions: ['connect', 'download'] });
    assert.equal(p.status, 201);
    assert.deepEqual(p.body.userGroups.map((x: { id: string }) => x.id), [g.id]);
    const reach = (await admin.get(`/users/${u.id}/assets`)).body;
    assert.deepEqual(reach.items.map((x: { name: string }) => x.name), ['pg01']);
    assert.deepEqual(reach.items[0].systemUsers[0].actions, ['connect', 'download']);
    const who = (await admin.get(`/assets/${a.id}/reachers`)).body;
    assert.deepEqual(who.items.map((x: { user: { username: string } }) => x.user.username), ['mia']);
    assert.equal((await admin.post('/permissions', { name: 'bad-window', validFrom: '2030-01-02T00:00:00Z', validTo: '2030-01-01T00:00:00Z' })).status, 400);
    assert.equal((await admin.patch(`/permissions/${p.body.id}`, { active: false })).body.active, false);
    assert.equal((await admin.get(`/users/${u.id}/assets`)).body.total, 0);
  });

  test('me/assets lists granted assets with the exact ssh command', async () => {
    await admin.post('/users', { username: 'noah', password: 'Long-enough-pass-1', mustChangePassword: false });
    const noah = await loggedIn(b.baseUrl, 'noah', 'Long-enough-pass-1');
    assert.deepEqual((await noah.get('/me/assets')).body, { items: [], total: 0 });
    const uid = (await noah.get('/me')).body.id;
    const a = (await admin.post('/assets', { name: 'web01', address: '192.0.2.30' })).body;
    const su = (await admin.post('/system-users', { name: 'web-deploy', username: 'deploy' })).body;
    await admin.post('/permissions', { name: 'noah-web', users: [uid], assets: [a.id], systemUsers: [su.id] });
    const mine = (await noah.get('/me/assets')).body;
    assert.equal(mine.total, 1);
    assert.match(mine.items[0].sshCommand, /^ssh -p \d+ noah@web01@/);
  });

  test('SSH keys: ed25519 accepted with its SHA256 fingerprint; DSA, short RSA, private keys and junk refused', async () => {
    const pub = ed25519Pub();
    const ok = await admin.post('/me/keys', { publicKey: pub });
    assert.equal(ok.status, 201);
    assert.match(ok.body.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal((await admin.post('/me/keys', { publicKey: pub })).status, 409);
    assert.equal((await admin.post('/me/keys', { publicKey: rsaPub(1024) })).status, 400);
    assert.equal((await admin.post('/me/keys', { publicKey: rsaPub(2048) })).status, 201);
    assert.equal((await admin.post('/me/keys', { publicKey: 'ssh-dss AAAAB3NzaC1kc3MAAACBAP== x' })).status, 400);
    assert.equal((await admin.post('/me/keys', { publicKey: 'ssh-ed25519 AAAA!!notbase64' })).status, 400);
    const { privateKey } = generateKeyPairSync('ed25519');
    assert.equal((await admin.post('/me/keys', { publicKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) })).status, 400);
    const u = (await admin.post('/users', { username: 'olga' })).body;
    assert.equal((await admin.post(`/users/${u.id}/keys`, { publicKey: ed25519Pub() })).status, 201);
    assert.equal((await admin.get(`/users/${u.id}/keys`)).body.items.length, 1);
  });

  test('SSH keys and API tokens are capped per user: one more is 409 with its reason; requests at once never pass the cap', async () => {
    const u = (await admin.post('/users', { username: `capped-${label.toLowerCase()}` })).body;
    // At once, as a script might: the count and the insert are one step (the user's row locked on PostgreSQL).
    const keys = await Promise.all(Array.from({ length: CAP + 4 }, () => ed25519Pub()).map((publicKey) => admin.post(`/users/${u.id}/keys`, { publicKey })));
    assert.deepEqual(keys.map((r) => r.status).sort(), [...Array(CAP).fill(201), ...Array(4).fill(409)]);
    const refused = keys.find((r) => r.status === 409)!;
    assert.deepEqual(refused.body.error, { code: 'conflict', message: `${CAP} SSH keys is the most one user may have; delete one first`, details: { reason: 'key_limit_reached', limit: CAP } });
    const listed = (await admin.get(`/users/${u.id}/keys`)).body.items as { id: string }[];
    assert.equal(listed.length, CAP);
    // Deleting one makes room for one.
    assert.equal((await admin.delete(`/users/${u.id}/keys/${listed[0]!.id}`)).status, 204);
    assert.equal((await admin.post(`/users/${u.id}/keys`, { publicKey: ed25519Pub() })).status, 201);
    assert.equal((await admin.post(`/users/${u.id}/keys`, { publicKey: ed25519Pub() })).status, 409);

    const before = (await admin.get('/me/tokens')).body.items.length as number;
    const tokens = await Promise.all(Array.from({ length: CAP + 4 - before }, (_, i) => admin.post('/me/tokens', { name: `t${i}` })));
    assert.deepEqual(tokens.map((r) => r.status).sort(), [...Array(CAP - before).fill(201), ...Array(4).fill(409)]);
    assert.deepEqual(tokens.find((r) => r.status === 409)!.body.error, { code: 'conflict', message: `${CAP} API tokens is the most one user may have; delete one first`, details: { reason: 'token_limit_reached', limit: CAP } });
    assert.equal((await admin.get('/me/tokens')).body.items.length, CAP);
  });

  test('the OpenAPI document describes the routes from the same schemas', async () => {
    const doc = (await admin.get('/openapi.json')).body;
    assert.equal(doc.openapi, '3.1.0');
    const post = doc.paths['/api/v1/permissions'].post;
    assert.ok(post.requestBody.content['application/json'].schema.properties.actions);
    assert.ok(doc.paths['/api/v1/users/{id}'].patch);
  });
  });
}

function testOrSkip(name: string, fn: () => Promise<void>, unavailable: () => boolean) {
  test(name, async (t) => {
    if (unavailable()) { t.skip('database not available'); return; }
    await fn();
  });
}

let pg: Postgres | null = null;
before(async () => {
  const r = await startPostgres();
  if ('skip' in r) console.log(`# PostgreSQL resource tests skipped: ${r.skip}`);
  else pg = r;
});
after(async () => { await pg?.stop(); await cleanup(); });

resourceSuite('SQLite', () => ({}));
resourceSuite('PostgreSQL', () => (pg ? { DATABASE_URL: pg.url } : null));
