import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { ForbiddenError } from '../core/errors.ts';
import { startBastion, type Bastion } from './helpers/bastion.ts';
import { startPostgres } from './helpers/postgres.ts';
import { factories } from './helpers/factories.ts';
import { cleanup } from './helpers/tmp.ts';
import { AccessService } from '../core/access/accessService.ts';
import { loadSnapshot } from '../core/access/snapshot.ts';
import { ChangeFeed } from '../core/changeFeed.ts';

const HOUR = 3600_000;

/** The access rule of DESIGN.md, run against one database backend. */
function accessSuite(label: string, env: () => Record<string, string> | null) {
  describe(`access rule (${label})`, () => {
    let b: Bastion;
    let f: ReturnType<typeof factories>;
    before(async (t) => {
      const e = env();
      if (e === null) return;
      b = await startBastion({ http: false, env: e });
      f = factories(b.services);
    });
    after(async () => { await b?.stop(); });

    const skipIfNoDb = (t: { skip: (m: string) => void }) => { if (!b) { t.skip('database not available'); return true; } return false; };

    test('no permission at all means no access', async (t) => {
      if (skipIfNoDb(t)) return;
      const u = await f.user();
      const a = await f.asset();
      const su = await f.systemUser();
      assert.equal(await b.services.access.may(u.id, a.id, su.id, 'connect'), false);
      assert.deepEqual(await b.services.access.granted(u.id), []);
      await assert.rejects(b.services.access.authorize(u.id, a.id, su.id, 'connect'), ForbiddenError);
    });

    test('a direct permission grants exactly its actions and system users', async (t) => {
      if (skipIfNoDb(t)) return;
      const u = await f.user();
      const a = await f.asset();
      const su = await f.systemUser();
      const other = await f.systemUser();
      await f.permission({ users: [u.id], assets: [a.id], systemUsers: [su.id], actions: ['connect'] });
      assert.equal(await b.services.access.may(u.id, a.id, su.id, 'connect'), true);
      assert.equal(await b.services.access.may(u.id, a.id, su.id, 'upload'), false);
      assert.equal(await b.services.access.may(u.id, a.id, other.id, 'connect'), false);
      const grant = await b.services.access.authorize(u.id, a.id, su.id, 'connect');
      assert.equal(grant.asset.id, a.id);
      assert.equal(grant.systemUser.id, su.id);
    });

    test('a permission that lands while the snapshot loads is seen at once: grants from the older snapshot are not cached as current', async (t) => {
      if (skipIfNoDb(t)) return;
      const u = await f.user();
      const a = await f.asset();
      const su = await f.systemUser();
      // The first load reads the database before the permission exists and is handed over only
      // after the change (a slow load racing a save in the web app, or a revocation).
      let loads = 0;
      let readDone!: () => void;
      const read = new Promise<void>((r) => { readDone = r; });
      let release!: () => void;
      const gate = new Promise<void>((r) => { release = r; });
      const access = new AccessService(b.services.ds, new ChangeFeed(), 60_000, async (ds) => {
        const n = ++loads;
        const snap = await loadSnapshot(ds);
        if (n === 1) {
          readDone();
          await gate;
        }
        return snap;
      });
      const asked = access.may(u.id, a.id, su.id, 'connect');
      await read;
      await f.permission({ users: [u.id], assets: [a.id], systemUsers: [su.id], actions: ['connect'] });
      access.invalidate();
      // A question after the change loads the new snapshot; the old load ends after it.
      assert.equal(await access.may(u.id, a.id, su.id, 'connect'), true);
      release();
      await asked;
      assert.equal(await access.may(u.id, a.id, su.id, 'connect'), true, 'the permission counts from the change on');
      assert.equal(loads, 2);
    });

    test('two permissions add up their actions', async (t) => {
      if (skipIfNoDb(t)) return;
      const u = await f.user();
      const a = await f.asset();
      const su = await f.systemUser();
      await f.permission({ users: [u.id], assets: [a.id], systemUsers: [su.id], actions: ['connect'] });
      await f.permission({ users: [u.id], assets: [a.id], systemUsers: [su.id], actions: ['download'] });
      const g = await b.services.access.granted(u.id);
      assert.deepEqual(g[0]!.systemUsers[0]!.actions, ['connect', 'download']);
    });

    test('an asset is reached through an ancestor node, and moves out with its node', async (t) => {
      if (skipIfNoDb(t)) return;
      const u = await f.user();
      const top = await f.node();
      const mid = await f.node({ parent: top.id });
      const leaf = await f.node({ parent: mid.id });
      const a = await f.asset({ nodes: [leaf.id] });
      const su = await f.systemUser();
      await f.permission({ users: [u.id], nodes: [top.id], systemUsers: [su.id] });
      assert.equal(await b.services.access.may(u.id, a.id, su.id, 'connect'), true);
      const elsewhere = await f.node();
      await b.services.nodes.update(SYSTEM_ACTOR, mid.id, { parent: elsewhere.id });
      assert.equal(await b.services.access.may(u.id, a.id, su.id, 'connect'), false);
    });

    test('a user reaches assets through a group until removed from it', async (t) => {
      if (skipIfNoDb(t)) return;
      const u = await f.user();
      const g = await f.group({ users: [u.id] });
      const a = await f.asset();
      const su = await f.systemUser();
      await f.permission({ userGroups: [g.id], assets: [a.id], systemUsers: [su.id] });
      assert.equal(await b.services.access.may(u.id, a.id, su.id, 'connect'), true);
      await b.services.groups.update(SYSTEM_ACTOR, g.id, { users: [] });
      assert.equal(await b.services.access.may(u.id, a.id, su.id, 'connect'), false);
    });

    test('expired and not-yet-valid permissions grant nothing; the window is honoured exactly', async (t) => {
      if (skipIfNoDb(t)) return;
      const u = await f.user();
      const a = await f.asset();
      const su = await f.systemUser();
      const now = Date.now();
      await f.permission({ users: [u.id], assets: [a.id], systemUsers: [su.id], validFrom: new Date(now - 2 * HOUR), validTo: new Date(now - HOUR) });
      await f.permission({ users: [u.id], assets: [a.id], systemUsers: [su.id], validFrom: new Date(now + HOUR), validTo: new Date(now + 2 * HOUR) });
      assert.equal(await b.services.access.may(u.id, a.id, su.id, 'connect', now), false);
      assert.equal(await b.services.access.may(u.id, a.id, su.id, 'connect', now + 1.5 * HOUR), true);
      assert.equal(await b.services.access.may(u.id, a.id, su.id, 'connect', now + 2.5 * HOUR), false);
    });

    test('inactive user, inactive asset, inactive permission and expired user all lose access', async (t) => {
      if (skipIfNoDb(t)) return;
      const su = await f.systemUser();
      const setup = async () => {
        const u = await f.user();
        const a = await f.asset();
        const p = await f.permission({ users: [u.id], assets: [a.id], systemUsers: [su.id] });
        assert.equal(await b.services.access.may(u.id, a.id, su.id, 'connect'), true);
        return { u, a, p };
      };
      let s = await setup();
      await b.services.users.update(SYSTEM_ACTOR, s.u.id, { active: false });
      assert.equal(await b.services.access.may(s.u.id, s.a.id, su.id, 'connect'), false);
      s = await setup();
      await b.services.assets.update(SYSTEM_ACTOR, s.a.id, { active: false });
      assert.equal(await b.services.access.may(s.u.id, s.a.id, su.id, 'connect'), false);
      s = await setup();
      await b.services.permissions.update(SYSTEM_ACTOR, s.p.id, { active: false });
      assert.equal(await b.services.access.may(s.u.id, s.a.id, su.id, 'connect'), false);
      s = await setup();
      await b.services.users.update(SYSTEM_ACTOR, s.u.id, { expiresAt: new Date(Date.now() + HOUR) });
      assert.equal(await b.services.access.may(s.u.id, s.a.id, su.id, 'connect', Date.now() + 2 * HOUR), false);
    });

    test('granted lists assets once with system users by priority, and reachersOf answers the reverse', async (t) => {
      if (skipIfNoDb(t)) return;
      const u = await f.user();
      const a = await f.asset({ name: 'zz-' + Date.now() });
      const low = await f.systemUser({ priority: 50 });
      const high = await f.systemUser({ priority: 1 });
      await f.permission({ users: [u.id], assets: [a.id], systemUsers: [low.id, high.id] });
      const g = await b.services.access.granted(u.id);
      assert.equal(g.length, 1);
      assert.deepEqual(g[0]!.systemUsers.map((s) => s.systemUser.id), [high.id, low.id]);
      const reachers = await b.services.access.reachersOf(a.id);
      assert.deepEqual(reachers.map((r) => r.user.id), [u.id]);
    });

    test('deleting a system user or asset removes the access it carried', async (t) => {
      if (skipIfNoDb(t)) return;
      const u = await f.user();
      const a = await f.asset();
      const su = await f.systemUser();
      await f.permission({ users: [u.id], assets: [a.id], systemUsers: [su.id] });
      await b.services.systemUsers.remove(SYSTEM_ACTOR, su.id);
      assert.equal(await b.services.access.may(u.id, a.id, su.id, 'connect'), false);
      assert.deepEqual(await b.services.access.granted(u.id), []);
    });
  });
}

accessSuite('SQLite', () => ({}));

let pgUrl: string | null = null;
let pgStop: (() => Promise<void>) | null = null;
before(async () => {
  const pg = await startPostgres();
  if ('skip' in pg) {
    console.log(`# PostgreSQL access tests skipped: ${pg.skip}`);
    return;
  }
  pgUrl = pg.url;
  pgStop = () => pg.stop();
});
accessSuite('PostgreSQL', () => (pgUrl ? { DATABASE_URL: pgUrl } : null));
after(async () => { await pgStop?.(); await cleanup(); });
