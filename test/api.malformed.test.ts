import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { allRoutes } from '../server/routes/index.ts';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { factories } from './helpers/factories.ts';
import { cleanup } from './helpers/tmp.ts';
import { dbState as snapshotDb } from './helpers/dbState.ts';

let b: Bastion;
let admin: ApiClient;
const existing: Record<string, string> = {};

before(async () => {
  b = await startBastion();
  admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  const f = factories(b.services);
  const u = await f.user();
  existing.user = u.id;
  existing.group = (await f.group({ users: [u.id] })).id;
  existing.node = (await f.node()).id;
  existing.asset = (await f.asset({ nodes: [existing.node] })).id;
  existing.su = (await f.systemUser()).id;
  existing.perm = (await f.permission({ users: [u.id], assets: [existing.asset], systemUsers: [existing.su] })).id;
  existing.au = (await b.services.adminUsers.create(SYSTEM_ACTOR, { name: 'root-admin', username: 'root', password: 'Au-secret-1' })).id;
  existing.filter = (await b.services.commandFilters.create(SYSTEM_ACTOR, { name: 'no-rm', pattern: 'rm -rf /', kind: 'commands', action: 'deny' })).id;
});

/** The existing row a PATCH route changes, so malformed changes are tried on real rows too. */
const EXISTING_FOR: Record<string, keyof typeof existing> = {
  '/users/:id': 'user', '/user-groups/:id': 'group', '/nodes/:id': 'node', '/assets/:id': 'asset',
  '/system-users/:id': 'su', '/admin-users/:id': 'au', '/permissions/:id': 'perm', '/command-filters/:id': 'filter',
};
after(async () => { await b.stop(); await cleanup(); });

const dbState = (): Promise<string> => snapshotDb(b.services.ds);

const UNKNOWN = '0b6f5e1e-3a2b-4c8d-9e0f-112233445566';
const HUGE = 'x'.repeat(300_000);

/** Bodies that are wrong in every way a client can be wrong. */
const BAD_BODIES: unknown[] = [
  '{not json', '[]', 'null', '42', '"str"', {},
  { name: 12, username: ['a'], address: {}, password: 5, actions: 'connect', users: 'x', port: '22' },
  { name: HUGE, username: HUGE, address: HUGE, publicKey: HUGE, comment: HUGE },
  { name: 'ok-name', username: 'ok', address: '10.0.0.1', users: [UNKNOWN], assets: [UNKNOWN], nodes: [UNKNOWN], systemUsers: [UNKNOWN], userGroups: [UNKNOWN], groups: [UNKNOWN], parent: UNKNOWN, adminUser: UNKNOWN },
  { name: 'ok-name', username: 'ok', address: '10.0.0.1', users: ['not-a-uuid'], parent: '../../etc', validFrom: 'yesterday', expiresAt: 'soon' },
  { name: '', username: '', address: '', actions: [], port: -1 },
  { unexpected: true, __proto__: { admin: true }, constructor: 'x' },
];

const BAD_IDS = ['not-a-uuid', '..%2F..%2Fetc%2Fpasswd', UNKNOWN, '1 OR 1=1'];

test('malformed requests to every route: never a 5xx, never a row changed', async () => {
  const before = await dbState();
  let requests = 0;
  for (const r of allRoutes) {
    if (r.path.startsWith('/auth/')) continue; // login/logout change sessions by design; covered in api.auth
    // Nothing in the request can be malformed (no id, no body read): any call is a valid one (POST /me/totp).
    if (r.method === 'post' && !r.body && !r.path.includes(':')) continue;
    const ids = r.method === 'patch' && EXISTING_FOR[r.path] ? [...BAD_IDS, existing[EXISTING_FOR[r.path]!]!] : BAD_IDS;
    const paths = r.path.includes(':')
      ? ids.map((id) => r.path.replace(/:\w+/g, id))
      : [r.path];
    for (const path of paths) {
      const bodies = r.method === 'get' || r.method === 'delete' ? [undefined] : BAD_BODIES;
      for (const body of bodies) {
        const res = typeof body === 'string'
          ? await admin.request(r.method.toUpperCase(), path, body, { 'content-type': 'application/json' })
          : await admin.request(r.method.toUpperCase(), path, body);
        requests++;
        assert.ok(res.status < 500, `${r.method.toUpperCase()} ${path} ${JSON.stringify(body)?.slice(0, 80)} → ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        if (res.status >= 400) {
          assert.equal(typeof res.body?.error?.code, 'string', `${r.method} ${path} error shape`);
          assert.equal(typeof res.body?.error?.message, 'string');
        }
      }
    }
  }
  // Query strings that are wrong.
  for (const q of ['?limit=-1', '?limit=abc', '?offset=1e99', '?node=nope', `?node=${UNKNOWN}`, '?active=maybe', '?from=yesterday', '?search=' + 'a'.repeat(5000)]) {
    for (const p of ['/users', '/assets', '/permissions', '/audit/logins', '/audit/operations']) {
      const res = await admin.get(p + q);
      requests++;
      assert.ok(res.status < 500, `GET ${p}${q} → ${res.status}`);
    }
  }
  const after = await dbState();
  assert.equal(after, before, 'no row may change');
  assert.ok(requests > 500, `sent ${requests} requests`);
});

test('validation errors name the field in error.details', async () => {
  const r = await admin.post('/assets', { name: 'ok', address: '10.0.0.1', port: 'twenty-two' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.details.field, 'port');
  const missing = await admin.post('/assets', { address: '10.0.0.1' });
  assert.equal(missing.body.error.details.field, 'name');
  const unknownField = await admin.post('/users', { username: 'pat', isAdmin: true });
  assert.equal(unknownField.status, 400);
  const bigBody = await admin.request('POST', '/users', JSON.stringify({ username: 'big', comment: 'x'.repeat(2_000_000) }));
  assert.equal(bigBody.status, 413);
});

test('unknown ids are 404 and invalid ids are 400', async () => {
  assert.equal((await admin.get(`/users/${UNKNOWN}`)).status, 404);
  assert.equal((await admin.get('/users/not-a-uuid')).status, 400);
  assert.equal((await admin.delete(`/assets/${UNKNOWN}`)).status, 404);
  assert.equal((await admin.get('/no/such/route')).status, 404);
});
