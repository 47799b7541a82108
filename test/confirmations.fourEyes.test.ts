// Four eyes on held commands (a confirm filter asks ANOTHER administrator): who held the command
// is compared by user id, not by a username its holder can change while the command waits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { loggedIn } from './helpers/api.ts';
import { factories } from './helpers/factories.ts';
import { cleanup } from './helpers/tmp.ts';

let b: Bastion;
before(async () => {
  b = await startBastion();
});
after(async () => {
  await b.stop();
  await cleanup();
});

test('an admin who renames themselves while their command is held still cannot approve it (403 own_confirmation, still pending)', async () => {
  const f = factories(b.services);
  const carol = await f.user({ username: 'carol', role: 'admin', password: 'Str0ng-pass-for-the-admin', mustChangePassword: false });
  const api = await loggedIn(b.baseUrl, 'carol', 'Str0ng-pass-for-the-admin');
  const sessionId = 'c0ffee00-0000-4000-8000-000000000001';
  const pending = b.services.confirmations.request({ sessionId, jobId: null, userId: carol.id, username: 'carol', assetName: 'a', systemUsername: 's', command: 'reboot', filter: 'confirm-reboot' }, 10_000);
  const id = ((await api.get('/command-confirmations')).body.items as Array<{ id: string; sessionId: string }>).find((c) => c.sessionId === sessionId)!.id;
  const renamed = await api.patch(`/users/${carol.id}`, { username: 'carol-two' });
  assert.equal(renamed.status, 200);
  const own = await api.post(`/command-confirmations/${id}/approve`);
  assert.deepEqual([own.status, own.body.error?.details?.reason], [403, 'own_confirmation']);
  assert.deepEqual(((await api.get('/command-confirmations')).body.items as Array<{ id: string }>).map((c) => c.id), [id], 'still waiting');
  // Withdrawn by its holder: nothing ran.
  const admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  assert.equal((await admin.post(`/command-confirmations/${id}/reject`)).status, 204);
  assert.deepEqual(await pending, { approved: false, by: 'admin' });
});
