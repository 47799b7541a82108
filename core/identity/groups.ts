import { In, type DataSource, type EntityManager } from 'typeorm';
import type { Actor } from '../actor.ts';
import type { ChangeFeed } from '../changeFeed.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { newId } from '../ids.ts';
import { applySearch, paginate, type ListQuery, type Page } from '../db/listing.ts';
import { UserEntity, UserGroupEntity, type User, type UserGroup } from '../db/entities/index.ts';
import { writeOperation } from '../audit/operationLog.ts';

export interface GroupInput {
  name: string;
  comment?: string | undefined;
  users?: string[] | undefined;
}

export class GroupService {
  constructor(private readonly ds: DataSource, private readonly changes: ChangeFeed) {}

  list(q: ListQuery): Promise<Page<UserGroup>> {
    const qb = this.ds.getRepository(UserGroupEntity).createQueryBuilder('g').leftJoinAndSelect('g.users', 'u').orderBy('g.name', 'ASC');
    applySearch(qb, ['g.name', 'g.comment'], q.search);
    return paginate(qb, q);
  }

  async get(id: string, em: EntityManager = this.ds.manager): Promise<UserGroup> {
    const g = await em.getRepository(UserGroupEntity).findOne({ where: { id }, relations: { users: true } });
    if (!g) throw new NotFoundError('user group not found', { reason: 'user_group_not_found' });
    return g;
  }

  async create(actor: Actor, input: GroupInput): Promise<UserGroup> {
    const id = newId();
    await this.ds.transaction(async (em) => {
      if (await em.getRepository(UserGroupEntity).existsBy({ name: input.name })) throw new ConflictError(`a group named '${input.name}' exists`, { reason: 'group_name_taken', name: input.name, field: 'name' });
      const users = await loadUsers(em, input.users);
      await em.getRepository(UserGroupEntity).save({ id, name: input.name, comment: input.comment ?? '', createdAt: new Date(), users });
      await writeOperation(em, actor, { action: 'create', resourceType: 'user_group', resourceId: id, resourceName: input.name, changes: { ...input } });
    });
    this.changes.emit('groups');
    return this.get(id);
  }

  async update(actor: Actor, id: string, patch: Partial<GroupInput>): Promise<UserGroup> {
    await this.ds.transaction(async (em) => {
      const g = await this.get(id, em);
      if (patch.name !== undefined && patch.name !== g.name) {
        if (await em.getRepository(UserGroupEntity).existsBy({ name: patch.name })) throw new ConflictError(`a group named '${patch.name}' exists`, { reason: 'group_name_taken', name: patch.name, field: 'name' });
        g.name = patch.name;
      }
      if (patch.comment !== undefined) g.comment = patch.comment;
      if (patch.users !== undefined) g.users = await loadUsers(em, patch.users);
      await em.getRepository(UserGroupEntity).save(g);
      await writeOperation(em, actor, { action: 'update', resourceType: 'user_group', resourceId: id, resourceName: g.name, changes: { ...patch } });
    });
    this.changes.emit('groups');
    return this.get(id);
  }

  async remove(actor: Actor, id: string): Promise<void> {
    await this.ds.transaction(async (em) => {
      const g = await this.get(id, em);
      await em.getRepository(UserGroupEntity).delete({ id });
      await writeOperation(em, actor, { action: 'delete', resourceType: 'user_group', resourceId: id, resourceName: g.name });
    });
    this.changes.emit('groups');
  }
}

async function loadUsers(em: EntityManager, ids: string[] | undefined): Promise<User[]> {
  if (!ids || ids.length === 0) return [];
  const unique = [...new Set(ids)];
  const users = await em.getRepository(UserEntity).findBy({ id: In(unique) });
  if (users.length !== unique.length) throw new ValidationError('unknown user', { reason: 'unknown_user', field: 'users', missing: unique.filter((i) => !users.some((u) => u.id === i)) });
  return users;
}
