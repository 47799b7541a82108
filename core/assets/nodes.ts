import type { DataSource } from 'typeorm';
import type { Actor } from '../actor.ts';
import type { ChangeFeed } from '../changeFeed.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { newId } from '../ids.ts';
import { NodeEntity, type AssetNode } from '../db/entities/index.ts';
import { writeOperation } from '../audit/operationLog.ts';

export const ROOT_NODE_NAME = 'Default';

export interface NodeTreeItem extends AssetNode {
  path: string;
  /** Distinct assets on this node and all its descendants (what `?node=` lists). */
  assetCount: number;
  /** Assets placed directly on this node. */
  directAssetCount: number;
}

/** The node tree: rename, move (never under itself), delete only when empty. */
export class NodeService {
  constructor(private readonly ds: DataSource, private readonly changes: ChangeFeed) {}

  all(): Promise<AssetNode[]> {
    return this.ds.getRepository(NodeEntity).find({ order: { name: 'ASC' } });
  }

  async tree(): Promise<NodeTreeItem[]> {
    const nodes = await this.all();
    const direct = new Map<string, string[]>();
    for (const r of await this.ds.query('SELECT node_id, asset_id FROM asset_node') as { node_id: string; asset_id: string }[]) {
      (direct.get(r.node_id) ?? direct.set(r.node_id, []).get(r.node_id)!).push(r.asset_id);
    }
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const subtreeCount = (id: string): number => {
      const seen = new Set<string>();
      for (const n of descendants(nodes, [id])) for (const a of direct.get(n) ?? []) seen.add(a);
      return seen.size;
    };
    const pathOf = (n: AssetNode): string => {
      const names: string[] = [];
      let cur: AssetNode | undefined = n;
      for (let i = 0; cur && i < 64; i++) { names.unshift(cur.name); cur = cur.parentId ? byId.get(cur.parentId) : undefined; }
      return '/' + names.join('/');
    };
    return nodes.map((n) => ({ ...n, path: pathOf(n), assetCount: subtreeCount(n.id), directAssetCount: direct.get(n.id)?.length ?? 0 }));
  }

  async get(id: string): Promise<AssetNode> {
    const n = await this.ds.getRepository(NodeEntity).findOneBy({ id });
    if (!n) throw new NotFoundError('node not found', { reason: 'node_not_found' });
    return n;
  }

  async root(): Promise<AssetNode> {
    const any = await this.ds.getRepository(NodeEntity).createQueryBuilder('n').where('n.parent_id IS NULL').orderBy('n.created_at').getOne();
    if (!any) throw new NotFoundError('root node missing', { reason: 'root_node_missing' });
    return any;
  }

  /** The ids of a node and all of its descendants. */
  async subtreeIds(id: string): Promise<string[]> {
    const nodes = await this.all();
    return descendants(nodes, [id]);
  }

  async create(actor: Actor, input: { name: string; parent?: string | null | undefined }): Promise<AssetNode> {
    const id = newId();
    await this.ds.transaction(async (em) => {
      const repo = em.getRepository(NodeEntity);
      const parentId = input.parent ?? (await this.root()).id;
      if (!(await repo.existsBy({ id: parentId }))) throw new ValidationError('unknown parent node', { reason: 'unknown_parent_node', field: 'parent' });
      if (await repo.existsBy({ parentId, name: input.name })) throw new ConflictError(`a node named '${input.name}' exists here`, { reason: 'node_name_taken', name: input.name, field: 'name' });
      await repo.insert({ id, name: input.name, parentId, createdAt: new Date() });
      await writeOperation(em, actor, { action: 'create', resourceType: 'node', resourceId: id, resourceName: input.name, changes: { ...input } });
    });
    this.changes.emit('nodes');
    return this.get(id);
  }

  async update(actor: Actor, id: string, patch: { name?: string | undefined; parent?: string | undefined }): Promise<AssetNode> {
    await this.ds.transaction(async (em) => {
      const repo = em.getRepository(NodeEntity);
      const node = await repo.findOneBy({ id });
      if (!node) throw new NotFoundError('node not found', { reason: 'node_not_found' });
      if (patch.parent !== undefined && patch.parent !== node.parentId) {
        if (node.parentId === null) throw new ValidationError('the root node cannot be moved', { reason: 'root_node_immovable', field: 'parent' });
        const nodes = await repo.find();
        if (!nodes.some((n) => n.id === patch.parent)) throw new ValidationError('unknown parent node', { reason: 'unknown_parent_node', field: 'parent' });
        if (descendants(nodes, [id]).includes(patch.parent)) throw new ValidationError('a node cannot move under itself', { reason: 'node_under_itself', field: 'parent' });
        node.parentId = patch.parent;
      }
      if (patch.name !== undefined) node.name = patch.name;
      if (await repo.createQueryBuilder('n').where('n.name = :name AND n.id <> :id', { name: node.name, id })
        .andWhere(node.parentId === null ? 'n.parent_id IS NULL' : 'n.parent_id = :p', { p: node.parentId }).getExists()) {
        throw new ConflictError(`a node named '${node.name}' exists here`, { reason: 'node_name_taken', name: node.name, field: 'name' });
      }
      await repo.save(node);
      await writeOperation(em, actor, { action: 'update', resourceType: 'node', resourceId: id, resourceName: node.name, changes: { ...patch } });
    });
    this.changes.emit('nodes');
    return this.get(id);
  }

  async remove(actor: Actor, id: string): Promise<void> {
    await this.ds.transaction(async (em) => {
      const repo = em.getRepository(NodeEntity);
      const node = await repo.findOneBy({ id });
      if (!node) throw new NotFoundError('node not found', { reason: 'node_not_found' });
      if (node.parentId === null) throw new ConflictError('the root node cannot be deleted', { reason: 'root_node_undeletable' });
      if (await repo.existsBy({ parentId: id })) throw new ConflictError('the node has child nodes; delete or move them first', { reason: 'node_has_children' });
      const held = await em.createQueryBuilder().select('COUNT(*)', 'n').from('asset_node', 'an').where('an.node_id = :id', { id }).getRawOne<{ n: number | string }>();
      if (Number(held?.n ?? 0) > 0) throw new ConflictError('the node still holds assets; move them first', { reason: 'node_has_assets' });
      await repo.delete({ id });
      await writeOperation(em, actor, { action: 'delete', resourceType: 'node', resourceId: id, resourceName: node.name });
    });
    this.changes.emit('nodes');
  }
}

export function descendants(nodes: Pick<AssetNode, 'id' | 'parentId'>[], roots: string[]): string[] {
  const children = new Map<string, string[]>();
  for (const n of nodes) if (n.parentId) (children.get(n.parentId) ?? children.set(n.parentId, []).get(n.parentId)!).push(n.id);
  const out = new Set<string>();
  const stack = [...roots];
  while (stack.length) {
    const id = stack.pop()!;
    if (out.has(id)) continue;
    out.add(id);
    stack.push(...(children.get(id) ?? []));
  }
  return [...out];
}
