import { In, type DataSource } from 'typeorm';
import type { Actor } from '../actor.ts';
import type { AccessService } from '../access/accessService.ts';
import type { PermissionService } from '../access/permissions.ts';
import type { AssetService } from '../assets/assets.ts';
import type { SystemUserService } from '../assets/accounts.ts';
import type { UserService } from '../identity/users.ts';
import type { OperationsService } from '../ops/operations.ts';
import { DomainError, ForbiddenError, type ErrorDetails } from '../errors.ts';
import { AssetEntity, SystemUserEntity, UserEntity, type Job, type Permission } from '../db/entities/index.ts';

export type BulkResource = 'users' | 'assets' | 'systemUsers' | 'permissions';
export type BulkAction = 'delete' | 'enable' | 'disable' | 'move' | 'test' | 'facts' | 'addToPermission';

/** Which actions each resource takes (the route schemas and the web app's bulk bars follow this). */
export const BULK_ACTIONS: Record<BulkResource, readonly BulkAction[]> = {
  users: ['delete', 'enable', 'disable', 'addToPermission'],
  assets: ['delete', 'enable', 'disable', 'move', 'test', 'facts', 'addToPermission'],
  systemUsers: ['delete', 'addToPermission'],
  permissions: ['delete', 'enable', 'disable'],
};

export type BulkItemResult = { id: string; ok: true } | { id: string; ok: false; error: { code: string; message: string; details: ErrorDetails } };

/** Every item's outcome, never a silent half: `failed` counts the items that did not happen. */
export interface BulkResult {
  action: BulkAction;
  results: BulkItemResult[];
  ok: number;
  failed: number;
  /** For test and facts: the one job that runs over the items. */
  job?: Job;
}

export interface BulkRequest {
  action: BulkAction;
  ids: string[];
  node?: string | undefined;
  permission?: string | undefined;
}

interface Deps {
  ds: DataSource;
  access: AccessService;
  users: UserService;
  assets: AssetService;
  systemUsers: SystemUserService;
  permissions: PermissionService;
  operations: OperationsService;
}

const RELATION: Record<Exclude<BulkResource, 'permissions'>, 'users' | 'assets' | 'systemUsers'> = { users: 'users', assets: 'assets', systemUsers: 'systemUsers' };

/**
 * Actions on many rows at once. Each item goes through the same core operation as the single
 * endpoint — its own transaction, its own check, its own operation-log row — and its outcome is
 * reported on its own: one item refused (the last admin, an unknown id) never hides or undoes
 * the others. Adding to a permission is one change of that permission (one log row naming the ids).
 */
export class BulkService {
  constructor(private readonly d: Deps) {}

  async run(actor: Actor, resource: BulkResource, req: BulkRequest): Promise<BulkResult> {
    const ids = [...new Set(req.ids)];
    switch (req.action) {
      case 'test':
      case 'facts': return this.#assetJob(actor, req.action, ids);
      case 'addToPermission':
        if (resource === 'permissions') break;
        return this.#addToPermission(actor, resource, ids, req.permission!);
      default: break;
    }
    return this.#eachItem(actor, req.action, ids, (id) => this.#one(actor, resource, req, id));
  }

  /** The same question the single endpoints' routes ask (core/access), asked per item here. */
  #assertManage(actor: Actor): void {
    if (actor.role !== 'system' && !this.d.access.roleCan(actor.role, 'manage')) throw new ForbiddenError('your role does not allow this', { reason: 'role_forbidden' });
  }

  /** The single operation behind each item, as its own endpoint does it. */
  async #one(actor: Actor, resource: BulkResource, req: BulkRequest, id: string): Promise<void> {
    const d = this.d;
    const active = req.action === 'enable' ? true : req.action === 'disable' ? false : undefined;
    switch (resource) {
      case 'users':
        if (req.action === 'delete') return d.users.remove(actor, id);
        await d.users.update(actor, id, { active: active! });
        return;
      case 'assets':
        if (req.action === 'delete') return d.assets.remove(actor, id);
        await d.assets.update(actor, id, req.action === 'move' ? { nodes: [req.node!] } : { active: active! });
        return;
      case 'systemUsers':
        return d.systemUsers.remove(actor, id);
      case 'permissions':
        if (req.action === 'delete') return d.permissions.remove(actor, id);
        await d.permissions.update(actor, id, { active: active! });
        return;
    }
  }

  async #eachItem(actor: Actor, action: BulkAction, ids: string[], op: (id: string) => Promise<void>): Promise<BulkResult> {
    const results: BulkItemResult[] = [];
    for (const id of ids) {
      try {
        this.#assertManage(actor);
        await op(id);
        results.push({ id, ok: true });
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        results.push({ id, ok: false, error: { code: err.code, message: err.message, details: err.details } });
      }
    }
    return tally(action, results);
  }

  /** Test or gather facts on the assets that exist, as one job; unknown ids are reported, not run. */
  async #assetJob(actor: Actor, action: 'test' | 'facts', ids: string[]): Promise<BulkResult> {
    this.#assertManage(actor);
    const found = new Set((await this.d.ds.getRepository(AssetEntity).findBy({ id: In(ids) })).map((a) => a.id));
    const results = ids.map((id): BulkItemResult => (found.has(id) ? { id, ok: true } : { id, ok: false, error: { code: 'not_found', message: 'asset not found', details: { reason: 'asset_not_found' } } }));
    const existing = ids.filter((id) => found.has(id));
    if (existing.length === 0) return tally(action, results);
    const job = action === 'test' ? await this.d.operations.testAssets(actor, existing) : await this.d.operations.gatherFacts(actor, { assets: existing });
    return { ...tally(action, results), job };
  }

  async #addToPermission(actor: Actor, resource: Exclude<BulkResource, 'permissions'>, ids: string[], permissionId: string): Promise<BulkResult> {
    this.#assertManage(actor);
    const p: Permission = await this.d.permissions.get(permissionId);
    const entity = resource === 'users' ? UserEntity : resource === 'assets' ? AssetEntity : SystemUserEntity;
    const found = new Set((await this.d.ds.getRepository<{ id: string }>(entity).findBy({ id: In(ids) })).map((r) => r.id));
    const [noun, reason] = resource === 'users' ? ['user', 'user_not_found'] as const : resource === 'assets' ? ['asset', 'asset_not_found'] as const : ['system user', 'system_user_not_found'] as const;
    const results = ids.map((id): BulkItemResult => (found.has(id) ? { id, ok: true } : { id, ok: false, error: { code: 'not_found', message: `${noun} not found`, details: { reason } } }));
    const relation = RELATION[resource];
    const current = (p[relation] ?? []).map((r) => r.id);
    const added = ids.filter((id) => found.has(id));
    if (added.length) await this.d.permissions.update(actor, p.id, { [relation]: [...new Set([...current, ...added])] });
    return tally('addToPermission', results);
  }
}

function tally(action: BulkAction, results: BulkItemResult[]): BulkResult {
  const ok = results.filter((r) => r.ok).length;
  return { action, results, ok, failed: results.length - ok };
}
