// Every error the API answers carries a stable `details.reason` (core/errorReasons.ts) that the
// web app words in English and Chinese; the English `message` is for scripts and logs only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_REASONS } from '../core/errorReasons.ts';
import { en } from '../web/src/i18n/en.ts';
import { zh } from '../web/src/i18n/zh.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { ApiClient, loggedIn } from './helpers/api.ts';
import { cleanup } from './helpers/tmp.ts';

const placeholders = (s: string) => [...s.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();

test('every reason core declares has an English and a Chinese sentence with the same placeholders', () => {
  const enReasons: Record<string, string> = en.errors.reasons;
  const zhReasons: Record<string, string> = zh.errors.reasons;
  const missing: string[] = [];
  for (const reason of ERROR_REASONS) {
    const e = enReasons[reason];
    const z = zhReasons[reason];
    if (!e?.trim()) { missing.push(`en:${reason}`); continue; }
    if (!z?.trim() || !/[\u4e00-\u9fff]/.test(z)) { missing.push(`zh:${reason}`); continue; }
    assert.deepEqual(placeholders(z), placeholders(e), `${reason}: the zh sentence uses the placeholders of the en one`);
  }
  assert.deepEqual(missing, []);
  // And no sentence for a reason nothing can give (a renamed reason leaves a stale one behind).
  assert.deepEqual(Object.keys(enReasons).filter((r) => !(ERROR_REASONS as readonly string[]).includes(r)), []);
});

let b: Bastion;
let admin: ApiClient;
before(async () => {
  b = await startBastion();
  admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
});
after(async () => { await b.stop(); await cleanup(); });

const why = (r: { body: { error?: { details?: { reason?: unknown } } } }) => r.body.error?.details?.reason;

test('real refusals name their reason: not found, name taken, node not empty, self-delete, zod input', async () => {
  const missing = await admin.get('/assets/00000000-0000-4000-8000-000000000000');
  assert.deepEqual([missing.status, missing.body.error.code, why(missing)], [404, 'not_found', 'asset_not_found']);

  const user = await admin.post('/users', { username: 'reason-u1', name: 'Reason One', password: 'Reason-pass-1234', role: 'user' });
  assert.equal(user.status, 201);
  const taken = await admin.post('/users', { username: 'reason-u1', name: 'Reason Two', password: 'Reason-pass-1234', role: 'user' });
  assert.deepEqual([taken.status, why(taken), taken.body.error.details.username, taken.body.error.details.field], [409, 'username_taken', 'reason-u1', 'username']);

  const node = await admin.post('/nodes', { name: 'reason-node' });
  const asset = await admin.post('/assets', { name: 'reason-a1', address: '127.0.0.1', nodes: [node.body.id] });
  assert.equal(asset.status, 201);
  const held = await admin.delete(`/nodes/${node.body.id}`);
  assert.deepEqual([held.status, why(held)], [409, 'node_has_assets']);

  const me = await admin.get('/me');
  const self = await admin.delete(`/users/${me.body.id}`);
  assert.deepEqual([self.status, why(self)], [403, 'cannot_delete_self']);

  const port = await admin.patch(`/assets/${asset.body.id}`, { port: 70000 });
  assert.deepEqual([port.status, why(port), port.body.error.details.issue, port.body.error.details.field], [400, 'invalid_input', 'too_big', 'port']);
  const address = await admin.patch(`/assets/${asset.body.id}`, { address: 'not a host!' });
  assert.deepEqual([address.status, why(address), address.body.error.details.issue], [400, 'invalid_address', 'custom']);
  const nothing = await admin.patch(`/assets/${asset.body.id}`, {});
  assert.deepEqual([nothing.status, why(nothing)], [400, 'nothing_to_change']);
});

test('refusals outside the routes name theirs too: no session, not JSON, unknown endpoint, bad JSON, role', async () => {
  const anonymous = await new ApiClient(b.baseUrl).get('/users');
  assert.deepEqual([anonymous.status, why(anonymous)], [401, 'authentication_required']);
  const form = await admin.request('POST', '/nodes', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.deepEqual([form.status, form.body.error.code, why(form)], [415, 'unsupported_media_type', 'json_required']);
  const nowhere = await admin.get('/no-such-thing');
  assert.deepEqual([nowhere.status, why(nowhere)], [404, 'no_such_endpoint']);
  const broken = await admin.request('POST', '/nodes', '{"name":', { 'content-type': 'application/json' });
  assert.deepEqual([broken.status, why(broken)], [400, 'body_not_json']);

  await admin.post('/users', { username: 'reason-op', name: 'Reason Operator', password: 'Reason-pass-1234', role: 'user', mustChangePassword: false });
  const op = await loggedIn(b.baseUrl, 'reason-op', 'Reason-pass-1234');
  const manage = await op.get('/users');
  assert.deepEqual([manage.status, why(manage)], [403, 'role_forbidden']);
  const key = await op.post('/me/keys', { publicKey: 'ssh-dss AAAAB3NzaC1kc3MAAACBAP', name: 'old' });
  assert.deepEqual([key.status, why(key), key.body.error.details.field], [400, 'key_type_dsa', 'publicKey']);
});
