// Bulk actions and labels (issue 15 item 3): POST /<resource>/bulk acts on many rows through the
// single operations (same checks, one operation-log row per item), reports every item's outcome
// (never a silent half), and a node can be emptied and then deleted; labels (`key:value`) are
// searched and filtered on assets and permissions. Every asset is on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { OperationLogEntity } from '../core/db/entities/index.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { factories } from './helpers/factories.ts';
import { freePort } from './helpers/ports.ts';
import { dbState } from './helpers/dbState.ts';
import { cleanup } from './helpers/tmp.ts';

const UNKNOWN = '5f0e3c4a-9b1d-4e2f-8a7c-6d5e4f3a2b1c';
let b: Bastion;
let admin: ApiClient;
let operator: ApiClient;
let f: ReturnType<typeof factories>;
const ids: Record<string, string> = {};
let adminId = '';

const names = (r: { body: { items: { name: string }[] } }) => r.body.items.map((x) => x.name);
const opsFor = async (resourceId: string) => (await b.services.ds.getRepository(OperationLogEntity).findBy({ resourceId })).map((o) => o.action).sort();

before(async () => {
  b = await startBastion();
  f = factories(b.services);
  const port = await freePort();
  ids.rackA = (await f.node({ name: 'rack-a' })).id;
  ids.rackB = (await f.node({ name: 'rack-b' })).id;
  const asset = async (name: string, labels: string[]) => (await b.services.assets.create(SYSTEM_ACTOR, { name, address: '127.0.0.1', port, nodes: [ids.rackA!], labels })).id;
  ids.web1 = await asset('web1', ['rack:r3', 'env:prod']);
  ids.web2 = await asset('web2', ['rack:r3', 'env:test']);
  ids.db1 = await asset('db1', ['rack:r30', 'env:prod']);
  ids.u1 = (await f.user({ username: 'ursula' })).id;
  ids.u2 = (await f.user({ username: 'ulrich' })).id;
  ids.su1 = (await f.systemUser({ name: 'su-one' })).id;
  ids.su2 = (await f.systemUser({ name: 'su-two' })).id;
  // One permission names web1, one covers rack-a (every asset on it), one covers db1 only.
  ids.pWeb = (await f.permission({ name: 'p-web1', users: [ids.u1], assets: [ids.web1] })).id;
  ids.pRack = (await f.permission({ name: 'p-rack-a', users: [ids.u1], nodes: [ids.rackA] })).id;
  ids.pDb = (await f.permission({ name: 'p-db1', users: [ids.u2], assets: [ids.db1] })).id;
  await f.user({ username: 'oscar', password: 'Blue-bulk-1234' });
  admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  operator = await loggedIn(b.baseUrl, 'oscar', 'Blue-bulk-1234');
  adminId = (await admin.get('/me')).body.id;
});
after(async () => {
  await b.services.jobs.stopAll();
  await b.stop();
  await cleanup();
});

test('rack:r3 in the search finds exactly the assets with that label (not rack:r30); labels= filters; GET /labels counts them', async () => {
  assert.deepEqual(names(await admin.get('/assets?search=rack:r3')), ['web1', 'web2']);
  assert.deepEqual(names(await admin.get('/assets?search=RACK:R3%20web2')), ['web2']);
  assert.deepEqual(names(await admin.get('/assets?search=rack:r3%20env:prod')), ['web1']);
  assert.deepEqual(names(await admin.get('/assets?labels=env:prod')), ['db1', 'web1']);
  assert.deepEqual(names(await admin.get('/assets?labels=env:prod,rack:r30')), ['db1']);
  // A plain word matches labels as text too.
  assert.deepEqual(names(await admin.get('/assets?search=r30')), ['db1']);
  assert.deepEqual(names(await admin.get('/assets?search=rack:r4')), []);
  const labels = await admin.get('/labels');
  assert.equal(labels.status, 200);
  assert.deepEqual(labels.body.items, [
    { label: 'env:prod', assets: 2 }, { label: 'rack:r3', assets: 2 }, { label: 'env:test', assets: 1 }, { label: 'rack:r30', assets: 1 },
  ]);
  assert.equal((await operator.get('/labels')).status, 403);
});

test('permissions filter by label: those naming a labelled asset or a node that holds one', async () => {
  assert.deepEqual(names(await admin.get('/permissions?search=rack:r3')), ['p-rack-a', 'p-web1']);
  assert.deepEqual(names(await admin.get('/permissions?labels=env:prod')), ['p-db1', 'p-rack-a', 'p-web1']);
  assert.deepEqual(names(await admin.get('/permissions?search=rack:r3%20web')), ['p-web1']);
  assert.deepEqual(names(await admin.get('/permissions?labels=rack:r9')), []);
});

test('a node is emptied by moving its assets, then deleted; one operation-log row per moved asset', async () => {
  const refused = await admin.delete(`/nodes/${ids.rackA}`);
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error.message, 'the node still holds assets; move them first');
  const moved = await admin.post('/assets/bulk', { action: 'move', ids: [ids.web1, ids.web2, ids.db1], node: ids.rackB });
  assert.equal(moved.status, 200);
  assert.deepEqual(moved.body, { action: 'move', ok: 3, failed: 0, results: [{ id: ids.web1, ok: true }, { id: ids.web2, ok: true }, { id: ids.db1, ok: true }], job: null });
  for (const id of [ids.web1!, ids.web2!, ids.db1!]) assert.deepEqual(await opsFor(id), ['create', 'update']);
  assert.deepEqual((await admin.get(`/assets?node=${ids.rackB}`)).body.total, 3);
  assert.equal((await admin.delete(`/nodes/${ids.rackA}`)).status, 204);
});

test('a partial failure is reported per item: the others are done, the refused one is named with its reason', async () => {
  const extra = (await f.user({ username: 'temp-bulk' })).id;
  const r = await admin.post('/users/bulk', { action: 'delete', ids: [extra, adminId, UNKNOWN] });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, {
    action: 'delete', ok: 1, failed: 2, job: null,
    results: [
      { id: extra, ok: true },
      { id: adminId, ok: false, error: { code: 'forbidden', message: 'you cannot delete yourself', details: { reason: 'cannot_delete_self' } } },
      { id: UNKNOWN, ok: false, error: { code: 'not_found', message: 'user not found', details: { reason: 'user_not_found' } } },
    ],
  });
  assert.equal((await admin.get(`/users/${extra}`)).status, 404);
  assert.deepEqual(await opsFor(extra), ['create', 'delete']);
  assert.equal((await admin.get('/me')).status, 200);
});

test('enable / disable users, assets and permissions; add users, assets and system users to a permission', async () => {
  const off = await admin.post('/permissions/bulk', { action: 'disable', ids: [ids.pWeb, ids.pDb] });
  assert.deepEqual([off.body.ok, off.body.failed], [2, 0]);
  assert.deepEqual((await admin.get('/permissions?active=false')).body.items.map((p: { name: string }) => p.name), ['p-db1', 'p-web1']);
  const on = await admin.post('/permissions/bulk', { action: 'enable', ids: [ids.pWeb] });
  assert.equal(on.body.ok, 1);
  assert.equal((await admin.post('/assets/bulk', { action: 'disable', ids: [ids.db1] })).body.ok, 1);
  assert.equal((await admin.get(`/assets/${ids.db1}`)).body.active, false);
  assert.equal((await admin.post('/users/bulk', { action: 'disable', ids: [ids.u2] })).body.ok, 1);
  assert.equal((await admin.get(`/users/${ids.u2}`)).body.active, false);

  const ops0 = (await b.services.ds.getRepository(OperationLogEntity).findBy({ resourceId: ids.pDb })).length;
  const addUsers = await admin.post('/users/bulk', { action: 'addToPermission', ids: [ids.u1, UNKNOWN], permission: ids.pDb });
  assert.deepEqual(addUsers.body.results, [{ id: ids.u1, ok: true }, { id: UNKNOWN, ok: false, error: { code: 'not_found', message: 'user not found', details: { reason: 'user_not_found' } } }]);
  await admin.post('/assets/bulk', { action: 'addToPermission', ids: [ids.web2], permission: ids.pDb });
  await admin.post('/system-users/bulk', { action: 'addToPermission', ids: [ids.su1, ids.su2], permission: ids.pDb });
  const p = (await admin.get(`/permissions/${ids.pDb}`)).body;
  assert.deepEqual(p.users.map((u: { name: string }) => u.name).sort(), ['ulrich', 'ursula']);
  assert.deepEqual(p.assets.map((a: { name: string }) => a.name).sort(), ['db1', 'web2']);
  assert.deepEqual(p.systemUsers.map((s: { name: string }) => s.name).sort(), ['su-one', 'su-two']);
  // One change of the permission per bulk add (its log row names the ids).
  assert.equal((await b.services.ds.getRepository(OperationLogEntity).findBy({ resourceId: ids.pDb })).length, ops0 + 3);

  const gone = await admin.post('/system-users/bulk', { action: 'delete', ids: [ids.su2] });
  assert.equal(gone.body.ok, 1);
  assert.equal((await admin.get(`/system-users/${ids.su2}`)).status, 404);
});

test('test and facts run one job over the chosen assets; unknown ids are reported, not run', async () => {
  const r = await admin.post('/assets/bulk', { action: 'test', ids: [ids.web1, ids.web2, UNKNOWN] });
  assert.equal(r.status, 200);
  assert.deepEqual([r.body.ok, r.body.failed, r.body.results[2]], [2, 1, { id: UNKNOWN, ok: false, error: { code: 'not_found', message: 'asset not found', details: { reason: 'asset_not_found' } } }]);
  assert.equal(r.body.job.kind, 'connectivity');
  const job = await b.services.jobs.settled(r.body.job.id);
  assert.deepEqual(job.results.map((x) => x.assetName).sort(), ['web1', 'web2']);
  assert.equal(job.status, 'failed', 'nothing listens on the port');
  const facts = await admin.post('/assets/bulk', { action: 'facts', ids: [ids.web1] });
  assert.equal(facts.body.job.kind, 'facts');
  await b.services.jobs.settled(facts.body.job.id);
});

test('bad bulk bodies are 400 with the field; an operator gets 403 on every bulk route and nothing changes', async () => {
  const noNode = await admin.post('/assets/bulk', { action: 'move', ids: [ids.web1] });
  assert.equal(noNode.status, 400);
  assert.deepEqual([noNode.body.error.details.field, noNode.body.error.message], ['node', 'invalid node: is required to move']);
  const wrongAction = await admin.post('/users/bulk', { action: 'move', ids: [ids.u1], node: ids.rackB });
  assert.equal(wrongAction.status, 400);
  assert.equal(wrongAction.body.error.details.field, 'action');
  const none = await admin.post('/permissions/bulk', { action: 'delete', ids: [] });
  assert.equal(none.status, 400);
  assert.equal(none.body.error.message, 'invalid ids: choose at least one');

  const before = await dbState(b.services.ds);
  for (const [path, body] of [
    ['/users/bulk', { action: 'delete', ids: [ids.u1] }], ['/assets/bulk', { action: 'delete', ids: [ids.web1] }],
    ['/system-users/bulk', { action: 'delete', ids: [ids.su1] }], ['/permissions/bulk', { action: 'delete', ids: [ids.pWeb] }],
  ] as const) {
    const r = await operator.post(path, body);
    assert.equal(r.status, 403, path);
    assert.equal(r.body.error.message, 'your role does not allow this');
  }
  assert.equal(await dbState(b.services.ds), before);
});
