import { In, type DataSource, type EntityManager, type EntitySchema, type ObjectLiteral } from 'typeorm';
import type { Actor } from '../actor.ts';
import type { ChangeFeed } from '../changeFeed.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { newId } from '../ids.ts';
import { applySearch, paginate, type ListQuery, type Page } from '../db/listing.ts';
import {
  AssetEntity, NodeEntity, PermissionEntity, SystemUserEntity, UserEntity, UserGroupEntity,
  type Action, type Permission,
} from '../db/entities/index.ts';
import { writeOperation } from '../audit/operationLog.ts';
import { splitLabelSearch, whereLabels } from '../assets/labels.ts';

export interface PermissionInput {
  name: string;
  users?: string[] | undefined;
  userGroups?: string[] | undefined;
  assets?: string[] | undefined;
  nodes?: string[] | undefined;
  systemUsers?: string[] | undefined;
  actions?: Action[] | undefined;
  validFrom?: Date | null | undefined;
  validTo?: Date | null | undefined;
  active?: boolean | undefined;
  comment?: string | undefined;
}

export interface PermissionListQuery extends ListQuery {
  user?: string | undefined;
  asset?: string | undefined;
  active?: boolean | undefined;
  /** Permissions covering an asset that carries every one of these labels (directly or through a node). */
  labels?: string[] | undefined;
}

const RELATIONS = { users: true, userGroups: true, assets: true, nodes: true, systemUsers: true } as const;

export class PermissionService {
  constructor(private readonly ds: DataSource, private readonly changes: ChangeFeed) {}

  async list(q: PermissionListQuery): Promise<Page<Permission>> {
    const qb = this.ds.getRepository(PermissionEntity).createQueryBuilder('p').orderBy('p.name', 'ASC');
    const { labels, text } = splitLabelSearch(q.search);
    applySearch(qb, ['p.name', 'p.comment'], text);
    const wanted = [...labels, ...(q.labels ?? [])];
    if (wanted.length) {
      const assets = await whereLabels(this.ds.getRepository(AssetEntity).createQueryBuilder('a').select('a.id', 'id'), 'a.labels', wanted).getRawMany<{ id: string }>();
      const assetIds = assets.map((a) => a.id);
      if (assetIds.length === 0) return { items: [], total: 0 };
      // A node covers its descendants: the labelled assets' nodes and every ancestor of those.
      const held = await this.ds.createQueryBuilder().select('an.node_id', 'id').from('asset_node', 'an').where('an.asset_id IN (:...assetIds)', { assetIds }).getRawMany<{ id: string }>();
      const nodes = await this.ds.getRepository(NodeEntity).find({ select: { id: true, parentId: true } });
      const parent = new Map(nodes.map((n) => [n.id, n.parentId]));
      const nodeIds = new Set<string>();
      for (const h of held) for (let n: string | null | undefined = h.id; n && !nodeIds.has(n); n = parent.get(n)) nodeIds.add(n);
      qb.andWhere('(p.id IN (SELECT permission_id FROM permission_asset WHERE asset_id IN (:...labelAssets)) OR p.id IN (SELECT permission_id FROM permission_node WHERE node_id IN (:...labelNodes)))',
        { labelAssets: assetIds, labelNodes: nodeIds.size ? [...nodeIds] : ['-'] });
    }
    if (q.active !== undefined) qb.andWhere('p.active = :active', { active: q.active });
    if (q.user) qb.andWhere('(p.id IN (SELECT permission_id FROM permission_user WHERE user_id = :u) OR p.id IN (SELECT pg.permission_id FROM permission_user_group pg JOIN user_group_member m ON m.group_id = pg.group_id WHERE m.user_id = :u))', { u: q.user });
    if (q.asset) qb.andWhere('p.id IN (SELECT permission_id FROM permission_asset WHERE asset_id = :a)', { a: q.asset });
    const page = await paginate(qb, q);
    if (page.items.length === 0) return page;
    // Relations loaded in a second query so pagination counts permissions, not joined rows.
    const full = await this.ds.getRepository(PermissionEntity).find({ where: { id: In(page.items.map((p) => p.id)) }, relations: RELATIONS });
    const byId = new Map(full.map((p) => [p.id, p]));
    return { items: page.items.map((p) => byId.get(p.id)!), total: page.total };
  }

  async get(id: string, em: EntityManager = this.ds.manager): Promise<Permission> {
    const p = await em.getRepository(PermissionEntity).findOne({ where: { id }, relations: RELATIONS });
    if (!p) throw new NotFoundError('permission not found', { reason: 'permission_not_found' });
    return p;
  }

  async create(actor: Actor, input: PermissionInput): Promise<Permission> {
    checkWindow(input.validFrom ?? null, input.validTo ?? null);
    const id = newId();
    await this.ds.transaction(async (em) => {
      if (await em.getRepository(PermissionEntity).existsBy({ name: input.name })) throw new ConflictError(`a permission named '${input.name}' exists`, { reason: 'permission_name_taken', name: input.name, field: 'name' });
      const now = new Date();
      await em.getRepository(PermissionEntity).save({
        id, name: input.name, actions: normalizeActions(input.actions ?? ['connect', 'upload', 'download']),
        validFrom: input.validFrom ?? null, validTo: input.validTo ?? null, active: input.active ?? true, comment: input.comment ?? '',
        createdAt: now, updatedAt: now,
        users: await load(em, UserEntity, input.users, 'users'),
        userGroups: await load(em, UserGroupEntity, input.userGroups, 'userGroups'),
        assets: await load(em, AssetEntity, input.assets, 'assets'),
        nodes: await load(em, NodeEntity, input.nodes, 'nodes'),
        systemUsers: await load(em, SystemUserEntity, input.systemUsers, 'systemUsers'),
      });
      await writeOperation(em, actor, { action: 'create', resourceType: 'permission', resourceId: id, resourceName: input.name, changes: { ...input } });
    });
    this.changes.emit('permissions');
    return this.get(id);
  }

  async update(actor: Actor, id: string, patch: Partial<PermissionInput>): Promise<Permission> {
    await this.ds.transaction(async (em) => {
      const p = await this.get(id, em);
      if (patch.name !== undefined && patch.name !== p.name) {
        if (await em.getRepository(PermissionEntity).existsBy({ name: patch.name })) throw new ConflictError(`a permission named '${patch.name}' exists`, { reason: 'permission_name_taken', name: patch.name, field: 'name' });
        p.name = patch.name;
      }
      if (patch.actions !== undefined) p.actions = normalizeActions(patch.actions);
      if (patch.validFrom !== undefined) p.validFrom = patch.validFrom;
      if (patch.validTo !== undefined) p.validTo = patch.validTo;
      checkWindow(p.validFrom, p.validTo);
      if (patch.active !== undefined) p.active = patch.active;
      if (patch.comment !== undefined) p.comment = patch.comment;
      if (patch.users !== undefined) p.users = await load(em, UserEntity, patch.users, 'users');
      if (patch.userGroups !== undefined) p.userGroups = await load(em, UserGroupEntity, patch.userGroups, 'userGroups');
      if (patch.assets !== undefined) p.assets = await load(em, AssetEntity, patch.assets, 'assets');
      if (patch.nodes !== undefined) p.nodes = await load(em, NodeEntity, patch.nodes, 'nodes');
      if (patch.systemUsers !== undefined) p.systemUsers = await load(em, SystemUserEntity, patch.systemUsers, 'systemUsers');
      p.updatedAt = new Date();
      await em.getRepository(PermissionEntity).save(p);
      await writeOperation(em, actor, { action: 'update', resourceType: 'permission', resourceId: id, resourceName: p.name, changes: { ...patch } });
    });
    this.changes.emit('permissions');
    return this.get(id);
  }

  async remove(actor: Actor, id: string): Promise<void> {
    await this.ds.transaction(async (em) => {
      const p = await this.get(id, em);
      await em.getRepository(PermissionEntity).delete({ id });
      await writeOperation(em, actor, { action: 'delete', resourceType: 'permission', resourceId: id, resourceName: p.name });
    });
    this.changes.emit('permissions');
  }
}

function normalizeActions(actions: Action[]): Action[] {
  const set = [...new Set(actions)];
  if (set.length === 0) throw new ValidationError('at least one action is required', { reason: 'no_actions', field: 'actions' });
  return set;
}

function checkWindow(from: Date | null, to: Date | null): void {
  if (from && to && from.getTime() >= to.getTime()) throw new ValidationError('validTo must be after validFrom', { reason: 'valid_to_before_valid_from', field: 'validTo' });
}

async function load<T extends ObjectLiteral & { id: string }>(em: EntityManager, entity: EntitySchema<T>, ids: string[] | undefined, field: string): Promise<T[]> {
  if (!ids || ids.length === 0) return [];
  const unique = [...new Set(ids)];
  const rows = await em.getRepository(entity).findBy({ id: In(unique) } as never);
  if (rows.length !== unique.length) throw new ValidationError(`unknown id in ${field}`, { reason: 'unknown_id', field, missing: unique.filter((i) => !rows.some((r) => r.id === i)) });
  return rows;
}
