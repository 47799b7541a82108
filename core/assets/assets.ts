import { In, type DataSource, type EntityManager } from 'typeorm';
import type { Actor } from '../actor.ts';
import type { ChangeFeed } from '../changeFeed.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { newId } from '../ids.ts';
import { applySearch, paginate, type ListQuery, type Page } from '../db/listing.ts';
import { AdminUserEntity, AssetEntity, NodeEntity, type Asset, type AssetNode } from '../db/entities/index.ts';
import { writeOperation } from '../audit/operationLog.ts';
import { descendants } from './nodes.ts';
import { splitLabelSearch, whereLabels } from './labels.ts';

export interface AssetInput {
  name: string;
  address: string;
  port?: number | undefined;
  platform?: string | undefined;
  nodes?: string[] | undefined;
  adminUser?: string | null | undefined;
  active?: boolean | undefined;
  labels?: string[] | undefined;
  comment?: string | undefined;
}

export interface AssetListQuery extends ListQuery {
  node?: string | undefined;
  /** Every one of these labels (`key:value`) must be on the asset. */
  labels?: string[] | undefined;
  active?: boolean | undefined;
  platform?: string | undefined;
}

export class AssetService {
  constructor(private readonly ds: DataSource, private readonly changes: ChangeFeed) {}

  async list(q: AssetListQuery): Promise<Page<Asset>> {
    const qb = this.ds.getRepository(AssetEntity).createQueryBuilder('a').orderBy('a.name', 'ASC');
    // `rack:r3` in the search is a label filter; the other words match name, address, comment, labels.
    const { labels, text } = splitLabelSearch(q.search);
    applySearch(qb, ['a.name', 'a.address', 'a.comment', 'a.labels'], text);
    whereLabels(qb, 'a.labels', [...labels, ...(q.labels ?? [])]);
    if (q.active !== undefined) qb.andWhere('a.active = :active', { active: q.active });
    if (q.platform) qb.andWhere('a.platform = :platform', { platform: q.platform });
    if (q.node) {
      const all = await this.ds.getRepository(NodeEntity).find();
      if (!all.some((n) => n.id === q.node)) throw new NotFoundError('node not found', { reason: 'node_not_found' });
      const ids = descendants(all, [q.node]);
      qb.andWhere('a.id IN (SELECT asset_id FROM asset_node WHERE node_id IN (:...nodeIds))', { nodeIds: ids });
    }
    // Page the bare rows first, then load nodes for that page only: a join would make the
    // count and the pagination run over asset×node rows.
    const page = await paginate(qb, q);
    if (page.items.length === 0) return page;
    const withNodes = await this.ds.getRepository(AssetEntity).find({ where: { id: In(page.items.map((a) => a.id)) }, relations: { nodes: true } });
    const byId = new Map(withNodes.map((a) => [a.id, a]));
    return { items: page.items.map((a) => byId.get(a.id) ?? a), total: page.total };
  }

  /** Every label in use, with how many assets carry it, most used first. */
  async labelCounts(): Promise<{ label: string; assets: number }[]> {
    const rows = await this.ds.getRepository(AssetEntity).find({ select: { id: true, labels: true } });
    const counts = new Map<string, number>();
    for (const r of rows) for (const l of new Set(r.labels ?? [])) counts.set(l, (counts.get(l) ?? 0) + 1);
    return [...counts].map(([label, assets]) => ({ label, assets })).sort((a, b) => b.assets - a.assets || (a.label < b.label ? -1 : 1));
  }

  async get(id: string, em: EntityManager = this.ds.manager): Promise<Asset> {
    const a = await em.getRepository(AssetEntity).findOne({ where: { id }, relations: { nodes: true } });
    if (!a) throw new NotFoundError('asset not found', { reason: 'asset_not_found' });
    return a;
  }

  /** An asset by name, or by address when no name matches. */
  async findByNameOrAddress(target: string): Promise<Asset[]> {
    const repo = this.ds.getRepository(AssetEntity);
    const byName = await repo.find({ where: { name: target }, relations: { nodes: true } });
    if (byName.length) return byName;
    return repo.find({ where: { address: target }, relations: { nodes: true } });
  }

  async create(actor: Actor, input: AssetInput): Promise<Asset> {
    const id = newId();
    await this.ds.transaction(async (em) => {
      await this.assertNameFree(em, input.name);
      const nodes = await this.resolveNodes(em, input.nodes);
      await this.assertAdminUser(em, input.adminUser);
      const now = new Date();
      await em.getRepository(AssetEntity).save({
        id, name: input.name, address: input.address, port: input.port ?? 22, platform: input.platform ?? 'linux',
        adminUserId: input.adminUser ?? null, active: input.active ?? true, labels: input.labels ?? [], comment: input.comment ?? '',
        facts: null, factsAt: null, lastTestOk: null, lastTestAt: null, lastTestMessage: null, createdAt: now, updatedAt: now, nodes,
      });
      await writeOperation(em, actor, { action: 'create', resourceType: 'asset', resourceId: id, resourceName: input.name, changes: { ...input } });
    });
    this.changes.emit('assets');
    return this.get(id);
  }

  async update(actor: Actor, id: string, patch: Partial<AssetInput>): Promise<Asset> {
    await this.ds.transaction(async (em) => {
      const a = await this.get(id, em);
      if (patch.name !== undefined && patch.name !== a.name) { await this.assertNameFree(em, patch.name); a.name = patch.name; }
      if (patch.address !== undefined) a.address = patch.address;
      if (patch.port !== undefined) a.port = patch.port;
      if (patch.platform !== undefined) a.platform = patch.platform;
      if (patch.adminUser !== undefined) { await this.assertAdminUser(em, patch.adminUser); a.adminUserId = patch.adminUser; }
      if (patch.active !== undefined) a.active = patch.active;
      if (patch.labels !== undefined) a.labels = patch.labels;
      if (patch.comment !== undefined) a.comment = patch.comment;
      if (patch.nodes !== undefined) a.nodes = await this.resolveNodes(em, patch.nodes);
      a.updatedAt = new Date();
      await em.getRepository(AssetEntity).save(a);
      await writeOperation(em, actor, { action: 'update', resourceType: 'asset', resourceId: id, resourceName: a.name, changes: { ...patch } });
    });
    this.changes.emit('assets');
    return this.get(id);
  }

  async remove(actor: Actor, id: string): Promise<void> {
    await this.ds.transaction(async (em) => {
      const a = await this.get(id, em);
      await em.getRepository(AssetEntity).delete({ id });
      await writeOperation(em, actor, { action: 'delete', resourceType: 'asset', resourceId: id, resourceName: a.name });
    });
    this.changes.emit('assets');
  }

  private async assertNameFree(em: EntityManager, name: string): Promise<void> {
    if (await em.getRepository(AssetEntity).existsBy({ name })) throw new ConflictError(`an asset named '${name}' exists`, { reason: 'asset_name_taken', name, field: 'name' });
  }

  private async assertAdminUser(em: EntityManager, id: string | null | undefined): Promise<void> {
    if (id && !(await em.getRepository(AdminUserEntity).existsBy({ id }))) throw new ValidationError('unknown admin user', { reason: 'unknown_admin_user', field: 'adminUser' });
  }

  /** Nodes by id; an asset with no node lands on the root node, as in JumpServer. */
  private async resolveNodes(em: EntityManager, ids: string[] | undefined): Promise<AssetNode[]> {
    const repo = em.getRepository(NodeEntity);
    if (!ids || ids.length === 0) {
      const root = await repo.createQueryBuilder('n').where('n.parent_id IS NULL').orderBy('n.created_at').getOne();
      return root ? [root] : [];
    }
    const unique = [...new Set(ids)];
    const nodes = await repo.findBy({ id: In(unique) });
    if (nodes.length !== unique.length) throw new ValidationError('unknown node', { reason: 'unknown_node', field: 'nodes', missing: unique.filter((i) => !nodes.some((n) => n.id === i)) });
    return nodes;
  }
}
