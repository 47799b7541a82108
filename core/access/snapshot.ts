import type { DataSource } from 'typeorm';
import type { Action, LoginMode } from '../db/entities/index.ts';

export interface UserFacts { id: string; username: string; active: boolean; expiresAt: number | null; groups: string[] }
export interface AssetFacts { id: string; name: string; address: string; port: number; platform: string; comment: string; active: boolean; nodes: string[] }
export interface SystemUserFacts { id: string; name: string; username: string; priority: number; loginMode: LoginMode }
export interface PermissionFacts {
  id: string;
  name: string;
  active: boolean;
  validFrom: number | null;
  validTo: number | null;
  actions: Action[];
  users: Set<string>;
  groups: Set<string>;
  assets: Set<string>;
  nodes: Set<string>;
  systemUsers: Set<string>;
}

/**
 * Everything the access rule reads, loaded in one pass and kept in memory, so a decision
 * is a few map lookups instead of a chain of joins.
 */
export class AccessSnapshot {
  readonly loadedAt = Date.now();
  readonly permsByUser = new Map<string, PermissionFacts[]>();
  readonly permsByGroup = new Map<string, PermissionFacts[]>();
  readonly nodeChildren = new Map<string, string[]>();
  readonly assetsByNode = new Map<string, string[]>();
  readonly #ancestorsOfAsset = new Map<string, Set<string>>();
  readonly #assetsUnderNode = new Map<string, string[]>();

  constructor(
    readonly users: Map<string, UserFacts>,
    readonly assets: Map<string, AssetFacts>,
    readonly nodeParent: Map<string, string | null>,
    readonly systemUsers: Map<string, SystemUserFacts>,
    readonly permissions: PermissionFacts[],
  ) {
    for (const p of permissions) {
      for (const u of p.users) push(this.permsByUser, u, p);
      for (const g of p.groups) push(this.permsByGroup, g, p);
    }
    for (const [id, parent] of nodeParent) if (parent) push(this.nodeChildren, parent, id);
    for (const a of assets.values()) for (const n of a.nodes) push(this.assetsByNode, n, a.id);
  }

  /** The permissions naming this user directly or through one of their groups. */
  permissionsOf(user: UserFacts): PermissionFacts[] {
    const direct = this.permsByUser.get(user.id) ?? [];
    if (user.groups.length === 0) return direct;
    const all = new Set(direct);
    for (const g of user.groups) for (const p of this.permsByGroup.get(g) ?? []) all.add(p);
    return [...all];
  }

  /** The nodes an asset sits on, with all their ancestors. */
  ancestorsOf(assetId: string): Set<string> {
    let set = this.#ancestorsOfAsset.get(assetId);
    if (set) return set;
    set = new Set();
    for (let n of this.assets.get(assetId)?.nodes ?? []) {
      for (let i = 0; i < 256 && n && !set.has(n); i++) {
        set.add(n);
        n = this.nodeParent.get(n) ?? '';
      }
    }
    this.#ancestorsOfAsset.set(assetId, set);
    return set;
  }

  /** Every asset on a node or any of its descendants. */
  assetsUnder(nodeId: string): string[] {
    let list = this.#assetsUnderNode.get(nodeId);
    if (list) return list;
    const out = new Set<string>();
    const seen = new Set<string>();
    const stack = [nodeId];
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      for (const a of this.assetsByNode.get(n) ?? []) out.add(a);
      stack.push(...(this.nodeChildren.get(n) ?? []));
    }
    list = [...out];
    this.#assetsUnderNode.set(nodeId, list);
    return list;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

const num = (v: unknown): number | null => (v == null ? null : Number(v));
const truthy = (v: unknown): boolean => v === true || v === 1 || v === '1' || v === 't' || v === 'true';

export async function loadSnapshot(ds: DataSource): Promise<AccessSnapshot> {
  const q = <T>(sql: string): Promise<T[]> => ds.query(sql) as Promise<T[]>;
  const [users, members, assets, assetNodes, nodes, sysUsers, perms, pu, pg, pa, pn, ps] = await Promise.all([
    q<{ id: string; username: string; active: unknown; expires_at: unknown }>('SELECT id, username, active, expires_at FROM "user"'),
    q<{ group_id: string; user_id: string }>('SELECT group_id, user_id FROM user_group_member'),
    q<{ id: string; name: string; address: string; port: unknown; platform: string; comment: string; active: unknown }>('SELECT id, name, address, port, platform, comment, active FROM asset'),
    q<{ asset_id: string; node_id: string }>('SELECT asset_id, node_id FROM asset_node'),
    q<{ id: string; parent_id: string | null }>('SELECT id, parent_id FROM node'),
    q<{ id: string; name: string; username: string; priority: unknown; login_mode: LoginMode }>('SELECT id, name, username, priority, login_mode FROM system_user'),
    q<{ id: string; name: string; active: unknown; valid_from: unknown; valid_to: unknown; actions: string }>('SELECT id, name, active, valid_from, valid_to, actions FROM permission'),
    q<{ permission_id: string; user_id: string }>('SELECT permission_id, user_id FROM permission_user'),
    q<{ permission_id: string; group_id: string }>('SELECT permission_id, group_id FROM permission_user_group'),
    q<{ permission_id: string; asset_id: string }>('SELECT permission_id, asset_id FROM permission_asset'),
    q<{ permission_id: string; node_id: string }>('SELECT permission_id, node_id FROM permission_node'),
    q<{ permission_id: string; system_user_id: string }>('SELECT permission_id, system_user_id FROM permission_system_user'),
  ]);
  const userMap = new Map<string, UserFacts>(users.map((u) => [u.id, { id: u.id, username: u.username, active: truthy(u.active), expiresAt: num(u.expires_at), groups: [] }]));
  for (const m of members) userMap.get(m.user_id)?.groups.push(m.group_id);
  const assetMap = new Map<string, AssetFacts>(assets.map((a) => [a.id, { id: a.id, name: a.name, address: a.address, port: Number(a.port), platform: a.platform, comment: a.comment, active: truthy(a.active), nodes: [] }]));
  for (const an of assetNodes) assetMap.get(an.asset_id)?.nodes.push(an.node_id);
  const nodeParent = new Map(nodes.map((n) => [n.id, n.parent_id]));
  const suMap = new Map<string, SystemUserFacts>(sysUsers.map((s) => [s.id, { id: s.id, name: s.name, username: s.username, priority: Number(s.priority), loginMode: s.login_mode }]));
  const permMap = new Map<string, PermissionFacts>(perms.map((p) => [p.id, {
    id: p.id, name: p.name, active: truthy(p.active), validFrom: num(p.valid_from), validTo: num(p.valid_to),
    actions: JSON.parse(p.actions) as Action[], users: new Set(), groups: new Set(), assets: new Set(), nodes: new Set(), systemUsers: new Set(),
  }]));
  for (const r of pu) permMap.get(r.permission_id)?.users.add(r.user_id);
  for (const r of pg) permMap.get(r.permission_id)?.groups.add(r.group_id);
  for (const r of pa) permMap.get(r.permission_id)?.assets.add(r.asset_id);
  for (const r of pn) permMap.get(r.permission_id)?.nodes.add(r.node_id);
  for (const r of ps) permMap.get(r.permission_id)?.systemUsers.add(r.system_user_id);
  return new AccessSnapshot(userMap, assetMap, nodeParent, suMap, [...permMap.values()]);
}
