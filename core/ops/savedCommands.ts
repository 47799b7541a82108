import { In, type DataSource } from 'typeorm';
import type { Actor } from '../actor.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { newId } from '../ids.ts';
import { applySearch, paginate, type ListQuery, type Page } from '../db/listing.ts';
import { AssetEntity, NodeEntity, SavedCommandEntity, SystemUserEntity, type SavedCommand } from '../db/entities/index.ts';
import { writeOperation } from '../audit/operationLog.ts';

export interface SavedCommandInput {
  name: string;
  command: string;
  systemUser: string;
  assets?: string[] | undefined;
  nodes?: string[] | undefined;
  timeoutSeconds?: number | undefined;
  comment?: string | undefined;
}

/**
 * Commands kept under a name by admins, with the system user they run as and default targets.
 * Keeping one grants nothing: a run is a command job like any other (OperationsService.runSaved).
 */
export class SavedCommandService {
  constructor(private readonly ds: DataSource) {}

  list(q: ListQuery): Promise<Page<SavedCommand>> {
    const qb = this.ds.getRepository(SavedCommandEntity).createQueryBuilder('c').orderBy('c.name', 'ASC');
    applySearch(qb, ['c.name', 'c.command', 'c.comment'], q.search);
    return paginate(qb, q);
  }

  async get(id: string): Promise<SavedCommand> {
    const row = await this.ds.getRepository(SavedCommandEntity).findOneBy({ id });
    if (!row) throw new NotFoundError('saved command not found', { reason: 'saved_command_not_found' });
    return row;
  }

  async create(actor: Actor, input: SavedCommandInput): Promise<SavedCommand> {
    const now = new Date();
    const row: SavedCommand = {
      id: newId(), name: input.name, command: input.command, systemUserId: input.systemUser, assetIds: [...new Set(input.assets ?? [])],
      nodeIds: [...new Set(input.nodes ?? [])], timeoutSeconds: input.timeoutSeconds ?? 60, comment: input.comment ?? '',
      createdBy: actor.id, createdAt: now, updatedAt: now,
    };
    await this.ds.transaction(async (em) => {
      const repo = em.getRepository(SavedCommandEntity);
      if (await repo.existsBy({ name: input.name })) throw new ConflictError(`a saved command named '${input.name}' exists`, { reason: 'saved_command_name_taken', name: input.name, field: 'name' });
      await this.check(row);
      await repo.insert(row as never);
      await writeOperation(em, actor, { action: 'create', resourceType: 'saved_command', resourceId: row.id, resourceName: row.name, changes: { ...input } });
    });
    return row;
  }

  async update(actor: Actor, id: string, patch: Partial<SavedCommandInput>): Promise<SavedCommand> {
    await this.ds.transaction(async (em) => {
      const repo = em.getRepository(SavedCommandEntity);
      const row = await repo.findOneBy({ id });
      if (!row) throw new NotFoundError('saved command not found', { reason: 'saved_command_not_found' });
      if (patch.name !== undefined && patch.name !== row.name) {
        if (await repo.existsBy({ name: patch.name })) throw new ConflictError(`a saved command named '${patch.name}' exists`, { reason: 'saved_command_name_taken', name: patch.name, field: 'name' });
        row.name = patch.name;
      }
      if (patch.command !== undefined) row.command = patch.command;
      if (patch.systemUser !== undefined) row.systemUserId = patch.systemUser;
      if (patch.assets !== undefined) row.assetIds = [...new Set(patch.assets)];
      if (patch.nodes !== undefined) row.nodeIds = [...new Set(patch.nodes)];
      if (patch.timeoutSeconds !== undefined) row.timeoutSeconds = patch.timeoutSeconds;
      if (patch.comment !== undefined) row.comment = patch.comment;
      row.updatedAt = new Date();
      await this.check(row);
      await repo.save(row);
      await writeOperation(em, actor, { action: 'update', resourceType: 'saved_command', resourceId: id, resourceName: row.name, changes: { ...patch } });
    });
    return this.get(id);
  }

  async remove(actor: Actor, id: string): Promise<void> {
    await this.ds.transaction(async (em) => {
      const row = await em.getRepository(SavedCommandEntity).findOneBy({ id });
      if (!row) throw new NotFoundError('saved command not found', { reason: 'saved_command_not_found' });
      await em.getRepository(SavedCommandEntity).delete({ id });
      await writeOperation(em, actor, { action: 'delete', resourceType: 'saved_command', resourceId: id, resourceName: row.name });
    });
  }

  /** The system user and default targets must exist when the command is saved. */
  private async check(row: SavedCommand): Promise<void> {
    if (!(await this.ds.getRepository(SystemUserEntity).existsBy({ id: row.systemUserId }))) throw new ValidationError('unknown system user', { reason: 'unknown_system_user', field: 'systemUser' });
    const assets = row.assetIds.length ? await this.ds.getRepository(AssetEntity).countBy({ id: In(row.assetIds) }) : 0;
    if (assets !== row.assetIds.length) throw new ValidationError('unknown asset', { reason: 'unknown_asset', field: 'assets' });
    const nodes = row.nodeIds.length ? await this.ds.getRepository(NodeEntity).countBy({ id: In(row.nodeIds) }) : 0;
    if (nodes !== row.nodeIds.length) throw new ValidationError('unknown node', { reason: 'unknown_node', field: 'nodes' });
  }
}
