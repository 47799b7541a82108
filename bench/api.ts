/**
 * API and access-decision benchmark (issue 3): seeds 10,000 assets in 200 nodes, 1,000 users
 * in 50 groups and 2,000 permissions, then reports p50/p95 of GET /me/assets for a user
 * granted 5,000 assets, of GET /assets?search=, and of one access decision.
 * Run: npx tsx bench/api.ts   (or npm run bench)
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { newId } from '../core/ids.ts';
import { startBastion } from '../test/helpers/bastion.ts';
import { cleanup } from '../test/helpers/tmp.ts';

function pct(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function insertChunks(ds: import('typeorm').DataSource, table: string, rows: Record<string, unknown>[]): Promise<void> {
  const cols = Object.keys(rows[0]!);
  const one = `(${cols.map(() => '?').join(', ')})`;
  for (let i = 0; i < rows.length; i += 200) {
    const chunk = rows.slice(i, i + 200);
    const params = chunk.flatMap((r) => cols.map((c) => (typeof r[c] === 'boolean' ? (r[c] ? 1 : 0) : r[c])));
    await ds.query(`INSERT INTO "${table}" (${cols.map((c) => `"${c}"`).join(', ')}) VALUES ${chunk.map(() => one).join(', ')}`, params);
  }
}

export async function runApiBench(): Promise<Record<string, number>> {
  const b = await startBastion();
  const { ds, access } = b.services;
  const now = Date.now();
  const root = await b.services.nodes.root();
  const nodes = Array.from({ length: 200 }, (_, i) => ({ id: newId(), name: `node-${i}`, parent_id: i < 20 ? root.id : null as string | null, created_at: now }));
  for (let i = 20; i < 200; i++) nodes[i]!.parent_id = nodes[i % 20]!.id;
  const assets = Array.from({ length: 10_000 }, (_, i) => ({
    id: newId(), name: `srv-${String(i).padStart(5, '0')}`, address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 22, platform: 'linux',
    admin_user_id: null, active: true, labels: '[]', comment: i % 10 === 0 ? 'database' : 'web', facts: null, created_at: now, updated_at: now,
  }));
  const users = Array.from({ length: 1000 }, (_, i) => ({
    id: newId(), username: `u${i}`, name: `User ${i}`, role: 'user', password_hash: null, must_change_password: false,
    active: true, comment: '', created_at: now, updated_at: now,
  }));
  const groups = Array.from({ length: 50 }, (_, i) => ({ id: newId(), name: `g${i}`, comment: '', created_at: now }));
  const systemUsers = Array.from({ length: 10 }, (_, i) => ({ id: newId(), name: `su${i}`, username: `su${i}`, login_mode: 'auto', priority: i, sudo: '', shell: '/bin/bash', comment: '', created_at: now, updated_at: now }));
  const perms = Array.from({ length: 2000 }, (_, i) => ({ id: newId(), name: `p${i}`, actions: '["connect"]', active: true, comment: '', created_at: now, updated_at: now }));
  await insertChunks(ds, 'node', nodes);
  await insertChunks(ds, 'asset', assets);
  await insertChunks(ds, 'asset_node', assets.map((a, i) => ({ asset_id: a.id, node_id: nodes[i % 200]!.id })));
  await insertChunks(ds, 'user', users);
  await insertChunks(ds, 'user_group', groups);
  await insertChunks(ds, 'user_group_member', users.map((u, i) => ({ group_id: groups[i % 50]!.id, user_id: u.id })));
  await insertChunks(ds, 'system_user', systemUsers);
  await insertChunks(ds, 'permission', perms);
  await insertChunks(ds, 'permission_user', perms.map((p, i) => ({ permission_id: p.id, user_id: users[i % 1000]!.id })));
  await insertChunks(ds, 'permission_user_group', perms.filter((_, i) => i % 4 === 0).map((p, i) => ({ permission_id: p.id, group_id: groups[i % 50]!.id })));
  await insertChunks(ds, 'permission_asset', perms.flatMap((p, i) => [0, 1, 2].map((k) => ({ permission_id: p.id, asset_id: assets[(i * 3 + k) % 10_000]!.id }))));
  await insertChunks(ds, 'permission_node', perms.filter((_, i) => i % 10 === 0).map((p, i) => ({ permission_id: p.id, node_id: nodes[20 + (i % 180)]!.id })));
  await insertChunks(ds, 'permission_system_user', perms.map((p, i) => ({ permission_id: p.id, system_user_id: systemUsers[i % 10]!.id })));
  // The heavy user: 5,000 assets through 100 nodes (half of all leaves).
  const heavy = await b.services.users.create(SYSTEM_ACTOR, { username: 'heavy', password: 'Many-assets-pass-1', mustChangePassword: false });
  await b.services.permissions.create(SYSTEM_ACTOR, { name: 'heavy', users: [heavy.id], nodes: nodes.slice(100, 200).map((n) => n.id), systemUsers: [systemUsers[0]!.id, systemUsers[1]!.id] });
  access.invalidate();

  const login = await fetch(`${b.baseUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'heavy', password: 'Many-assets-pass-1' }) });
  const cookie = /bastion_session=[^;]+/.exec(login.headers.get('set-cookie') ?? '')![0];
  const adminLogin = await fetch(`${b.baseUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'Adm1n-pass-for-tests' }) });
  const adminCookie = /bastion_session=[^;]+/.exec(adminLogin.headers.get('set-cookie') ?? '')![0];

  const time = async (n: number, fn: () => Promise<unknown>) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await fn();
      out.push(performance.now() - t0);
    }
    return out;
  };
  const t0 = performance.now();
  const granted = await access.granted(heavy.id);
  const coldMs = performance.now() - t0;
  const meAssets = await time(50, async () => {
    const r = await fetch(`${b.baseUrl}/api/v1/me/assets`, { headers: { cookie } });
    const body = await r.json() as { total: number };
    if (body.total !== granted.length) throw new Error('unexpected total');
  });
  const searches = ['srv-0', 'database', '10.0.1', 'srv-099', 'zzz'];
  const search = await time(50, async () => {
    const r = await fetch(`${b.baseUrl}/api/v1/assets?search=${searches[Math.floor(Math.random() * searches.length)]}`, { headers: { cookie: adminCookie } });
    await r.json();
  });
  const grantedIds = granted.map((g) => g.asset.id);
  const decisions = await time(5000, () => access.may(heavy.id, grantedIds[Math.floor(Math.random() * grantedIds.length)]!, systemUsers[0]!.id, 'connect'));
  const others = await time(1000, () => access.may(users[Math.floor(Math.random() * 1000)]!.id, assets[Math.floor(Math.random() * 10_000)]!.id, systemUsers[0]!.id, 'connect'));
  await b.stop();
  await cleanup();
  const result = {
    grantedAssets: granted.length,
    coldResolutionMs: coldMs,
    meAssetsP50: pct(meAssets, 50), meAssetsP95: pct(meAssets, 95),
    searchP50: pct(search, 50), searchP95: pct(search, 95),
    decisionP50: pct(decisions, 50), decisionP95: pct(decisions, 95),
    anyUserDecisionP95: pct(others, 95),
  };
  console.log('\nAPI benchmark (10,000 assets / 200 nodes / 1,000 users / 50 groups / 2,000 permissions)');
  console.log(`  user granted ${result.grantedAssets} assets; cold resolution ${coldMs.toFixed(1)} ms`);
  console.log(`  GET /me/assets         p50 ${result.meAssetsP50.toFixed(2)} ms   p95 ${result.meAssetsP95.toFixed(2)} ms   (target p95 < 50 ms)`);
  console.log(`  GET /assets?search=    p50 ${result.searchP50.toFixed(2)} ms   p95 ${result.searchP95.toFixed(2)} ms   (target p95 < 50 ms)`);
  console.log(`  access decision        p50 ${result.decisionP50.toFixed(4)} ms p95 ${result.decisionP95.toFixed(4)} ms (target p95 < 1 ms)`);
  console.log(`  decision, any user     p95 ${result.anyUserDecisionP95.toFixed(4)} ms (first call per user resolves)`);
  return result;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runApiBench().catch((e: unknown) => { console.error(e); process.exit(1); });
}
