import type { DataSource } from 'typeorm';
import type { ChangeFeed } from '../changeFeed.ts';
import { ForbiddenError } from '../errors.ts';
import type { Action, Role } from '../db/entities/index.ts';
import { AccessSnapshot, loadSnapshot, type AssetFacts, type PermissionFacts, type SystemUserFacts, type UserFacts } from './snapshot.ts';
import { mintGrant, type Grant } from './grant.ts';

export interface GrantedSystemUser {
  systemUser: SystemUserFacts;
  actions: Action[];
}

export interface GrantedAsset {
  asset: AssetFacts;
  systemUsers: GrantedSystemUser[]; // highest priority first (lower number = higher priority, as in JumpServer)
}

export interface Reacher {
  user: { id: string; username: string };
  systemUsers: GrantedSystemUser[];
}

/** The same words for "no such asset" and "not allowed": no oracle for operators. */
export const NOT_GRANTED = (target: string) => `no asset named '${target}' is granted to you`;

interface UserGrants {
  version: number;
  sorted?: GrantedAsset[];
  validUntil: number; // the next instant a validity window opens or closes
  assets: Map<string, Map<string, Set<Action>>>;
}

/** Where roles meet routes: which role may call which family of endpoints. */
const ROLE_ABILITIES: Record<Role, ReadonlySet<string>> = {
  admin: new Set(['manage', 'audit', 'self']),
  auditor: new Set(['audit', 'self']),
  user: new Set(['self']),
};

export type Ability = 'manage' | 'audit' | 'self';

/** How often a user's grants are recomputed when changes keep landing while the snapshot loads. */
const STALE_RETRIES = 5;

/**
 * THE place that decides who may do what. Everything is answered from an in-memory snapshot
 * of users, groups, nodes, assets, system users and permissions, rebuilt after any change.
 * Changes reach it through the ChangeFeed, from this process and over the bus from every
 * other one (DESIGN rule 12); that is what keeps it right. `maxAgeMs` is only a safety net for
 * rows edited outside any Bastion process (SQL by hand): no Bastion change waits for it.
 */
export class AccessService {
  #snapshot: AccessSnapshot | null = null;
  #loading: Promise<AccessSnapshot> | null = null;
  #version = 0;
  #userCache = new Map<string, UserGrants>();

  constructor(
    private readonly ds: DataSource,
    changes: ChangeFeed,
    private readonly maxAgeMs = 15_000,
    private readonly load: (ds: DataSource) => Promise<AccessSnapshot> = loadSnapshot,
  ) {
    // Command filters are not part of the snapshot; everything else is.
    changes.subscribe((kind) => { if (kind !== 'commandFilters') this.invalidate(); });
  }

  invalidate(): void {
    this.#version++;
    this.#snapshot = null;
    this.#loading = null;
    this.#userCache.clear();
  }

  /** Role-level question: may a user of this role use this family of endpoints? */
  roleCan(role: Role, ability: Ability): boolean {
    return ROLE_ABILITIES[role].has(ability);
  }

  async snapshot(): Promise<AccessSnapshot> {
    const s = this.#snapshot;
    if (s && Date.now() - s.loadedAt < this.maxAgeMs) return s;
    if (!this.#loading) {
      const version = this.#version;
      const loading = this.load(this.ds).then((snap) => {
        if (version === this.#version) {
          this.#snapshot = snap;
          this.#userCache.clear();
        }
        return snap;
      });
      this.#loading = loading;
      // Only this load's own slot is cleared: a load begun after a change must not be forgotten
      // when an older one ends.
      const done = () => { if (this.#loading === loading) this.#loading = null; };
      loading.then(done, done);
    }
    return this.#loading;
  }

  /** "May U use asset A as system user S for action X now?" */
  async may(userId: string, assetId: string, systemUserId: string, action: Action, now = Date.now()): Promise<boolean> {
    const actions = (await this.userGrants(userId, now)).assets.get(assetId)?.get(systemUserId);
    return actions?.has(action) ?? false;
  }

  /** "Which (asset, system user, actions) may U use?" Sorted by asset name. */
  async granted(userId: string, now = Date.now()): Promise<GrantedAsset[]> {
    const snap = await this.snapshot();
    const grants = await this.userGrants(userId, now);
    if (grants.sorted) return grants.sorted;
    const out: GrantedAsset[] = [];
    for (const [assetId, bySu] of grants.assets) {
      const asset = snap.assets.get(assetId);
      if (!asset) continue;
      out.push({ asset, systemUsers: sortSystemUsers(snap, bySu) });
    }
    // Plain code-unit order: stable, and much cheaper than localeCompare on thousands of names.
    grants.sorted = out.sort((a, b) => (a.asset.name < b.asset.name ? -1 : a.asset.name > b.asset.name ? 1 : 0));
    return grants.sorted;
  }

  /** The grant to use one asset as one system user; throws the same error whether the asset exists or not. */
  async authorize(userId: string, assetId: string, systemUserId: string, action: Action, now = Date.now()): Promise<Grant> {
    const snap = await this.snapshot();
    const grants = await this.userGrants(userId, now);
    const actions = grants.assets.get(assetId)?.get(systemUserId);
    const asset = snap.assets.get(assetId);
    const systemUser = snap.systemUsers.get(systemUserId);
    if (!actions || !actions.has(action) || !asset || !systemUser) throw new ForbiddenError(NOT_GRANTED(asset?.name ?? assetId), { reason: 'not_granted' });
    return mintGrant({ userId, asset, systemUser, actions: new Set(actions), expiresAt: grants.validUntil === Infinity ? null : grants.validUntil });
  }

  /** Batch commands: admins may run on any asset; anyone else only where they may `connect` as that system user. */
  async mayRunCommand(user: { id: string; role: Role }, assetId: string, systemUserId: string, now = Date.now()): Promise<boolean> {
    if (user.role === 'admin') return true;
    return this.may(user.id, assetId, systemUserId, 'connect', now);
  }

  /** Jobs are audit records too: admins and auditors see every job; operators the jobs they started. */
  mayViewJob(user: { id: string; role: Role }, job: { createdBy: string | null }): boolean {
    return user.role === 'admin' || user.role === 'auditor' || job.createdBy === user.id;
  }

  /** Admins cancel every job; others (auditors included: they only watch) the jobs they started. */
  mayCancelJob(user: { id: string; role: Role }, job: { createdBy: string | null }): boolean {
    return user.role === 'admin' || job.createdBy === user.id;
  }

  /**
   * Retrying a job's failures starts a new job as the caller: admins retry any job; others only
   * the command jobs they started (the kinds that touch assets as the bastion are admins' only).
   */
  mayRetryJob(user: { id: string; role: Role }, job: { createdBy: string | null; kind: string }): boolean {
    return user.role === 'admin' || (job.createdBy === user.id && job.kind === 'command');
  }

  /** Re-asks the rule for a live session (rule 11): false once user, asset or permission no longer allow it. */
  async stillHolds(grant: Grant, action: Action, now = Date.now()): Promise<boolean> {
    return this.may(grant.userId, grant.asset.id, grant.systemUser.id, action, now);
  }

  /** "Who can reach this asset?" for the admin view. */
  async reachersOf(assetId: string, now = Date.now()): Promise<Reacher[]> {
    const snap = await this.snapshot();
    const out: Reacher[] = [];
    for (const user of snap.users.values()) {
      const bySu = (await this.userGrants(user.id, now)).assets.get(assetId);
      if (bySu && bySu.size) out.push({ user: { id: user.id, username: user.username }, systemUsers: sortSystemUsers(snap, bySu) });
    }
    return out.sort((a, b) => a.user.username.localeCompare(b.user.username));
  }

  /**
   * A user's grants, cached until the next change. A change that lands while the snapshot loads
   * makes that snapshot older than the change: grants computed from it must not be cached under
   * the new version (a revoked permission would go on granting until the next periodic reload,
   * and rule 11's re-check, run on that very change, would read it), so the snapshot is asked
   * for again; after a few changes in a row the answer is given uncached.
   */
  private async userGrants(userId: string, now: number): Promise<UserGrants> {
    for (let attempt = 1; ; attempt++) {
      const version = this.#version;
      const snap = await this.snapshot();
      if (version !== this.#version && attempt < STALE_RETRIES) continue;
      const cached = this.#userCache.get(userId);
      if (cached && cached.version === version && now < cached.validUntil) return cached;
      const entry = { version, ...resolveUser(snap, snap.users.get(userId), now) };
      if (version === this.#version) this.#userCache.set(userId, entry);
      return entry;
    }
  }
}

function sortSystemUsers(snap: AccessSnapshot, bySu: Map<string, Set<Action>>): GrantedSystemUser[] {
  const list: GrantedSystemUser[] = [];
  for (const [suId, actions] of bySu) {
    const su = snap.systemUsers.get(suId);
    if (su) list.push({ systemUser: su, actions: [...actions].sort() });
  }
  return list.sort((a, b) => a.systemUser.priority - b.systemUser.priority || a.systemUser.name.localeCompare(b.systemUser.name));
}

/** The access rule of DESIGN.md, applied to one user at one instant. */
function resolveUser(snap: AccessSnapshot, user: UserFacts | undefined, now: number): Omit<UserGrants, 'version'> {
  const assets = new Map<string, Map<string, Set<Action>>>();
  let validUntil = Infinity;
  if (!user || !user.active) return { assets, validUntil };
  if (user.expiresAt !== null) {
    if (user.expiresAt <= now) return { assets, validUntil };
    validUntil = user.expiresAt;
  }
  for (const p of snap.permissionsOf(user)) {
    if (!p.active) continue;
    // Remember the next boundary of every window so the cached answer expires exactly then.
    if (p.validFrom !== null && p.validFrom > now) { validUntil = Math.min(validUntil, p.validFrom); continue; }
    if (p.validTo !== null) {
      if (p.validTo <= now) continue;
      validUntil = Math.min(validUntil, p.validTo);
    }
    if (p.systemUsers.size === 0 || p.actions.length === 0) continue;
    for (const assetId of assetsOf(snap, p)) {
      if (!snap.assets.get(assetId)?.active) continue;
      let bySu = assets.get(assetId);
      if (!bySu) assets.set(assetId, (bySu = new Map()));
      for (const su of p.systemUsers) {
        if (!snap.systemUsers.has(su)) continue;
        let actions = bySu.get(su);
        if (!actions) bySu.set(su, (actions = new Set()));
        for (const a of p.actions) actions.add(a);
      }
    }
  }
  return { assets, validUntil };
}

function assetsOf(snap: AccessSnapshot, p: PermissionFacts): Iterable<string> {
  if (p.nodes.size === 0) return p.assets;
  const out = new Set(p.assets);
  for (const n of p.nodes) for (const a of snap.assetsUnder(n)) out.add(a);
  return out;
}
