import { In, type DataSource, type EntityManager, type EntitySchema, type ObjectLiteral } from 'typeorm';
import type { Actor } from '../actor.ts';
import type { ChangeFeed } from '../changeFeed.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { newId } from '../ids.ts';
import { applySearch, paginate, type ListQuery, type Page } from '../db/listing.ts';
import { AssetEntity, CommandFilterEntity, NodeEntity, SystemUserEntity, UserEntity, UserGroupEntity, type CommandFilter, type FilterAction } from '../db/entities/index.ts';
import { writeOperation } from '../audit/operationLog.ts';
import { checkPattern, compileFilter, type CommandMatcher } from './commandMatch.ts';
import type { AccessService } from './accessService.ts';

export interface CommandFilterInput {
  name: string;
  kind?: CommandFilter['kind'] | undefined;
  pattern: string;
  action?: FilterAction | undefined;
  priority?: number | undefined;
  active?: boolean | undefined;
  users?: string[] | undefined;
  userGroups?: string[] | undefined;
  assets?: string[] | undefined;
  nodes?: string[] | undefined;
  systemUsers?: string[] | undefined;
  comment?: string | undefined;
}

export interface CommandVerdict {
  action: FilterAction;
  filter: { id: string; name: string } | null;
}

interface Compiled { filter: CommandFilter; re: CommandMatcher }

export interface FilterContext { userId: string; assetId: string; systemUserId: string | null }

export interface Ref { id: string; name: string }
/** A filter with its scopes as {id, name} pairs, the way permissions show theirs. */
export type NamedCommandFilter = Omit<CommandFilter, 'users' | 'userGroups' | 'assets' | 'nodes' | 'systemUsers'> &
  Record<'users' | 'userGroups' | 'assets' | 'nodes' | 'systemUsers', Ref[]>;

const SCOPES = [
  ['users', UserEntity], ['userGroups', UserGroupEntity], ['assets', AssetEntity], ['nodes', NodeEntity], ['systemUsers', SystemUserEntity],
] as const;

/**
 * Command filters: which command lines are denied, allowed or held for an admin's
 * confirmation. A filter applies when every non-empty scope list contains the session's
 * user (or one of their groups), asset (or one of its nodes, with ancestors) and system user.
 * Lower priority numbers are checked first; the first filter that matches decides; none: allow.
 */
export class CommandFilterService {
  #compiled: { filters: Compiled[]; loadedAt: number } | null = null;
  /**
   * Matchers by kind, action and pattern, kept across reloads: they depend on nothing else, so
   * they cannot go stale, and RE2's lazily built automaton stays warm when a change elsewhere
   * (a user, another filter) reloads the list. Only the patterns of the last load are kept.
   */
  #matchers = new Map<string, CommandMatcher>();
  #loading: Promise<Compiled[]> | null = null;
  /** Bumped by every change heard: a load that started before it must not be kept. */
  #version = 0;

  /**
   * The compiled filters are cached per process and dropped by the change feed: a change made
   * here is emitted on it, one made in another process (a gateway worker, a web server
   * elsewhere on PostgreSQL) arrives over the bus (DESIGN rule 12). Any kind drops the cache,
   * not only `commandFilters`: deleting a user or node rewrites the scope lists of filters.
   * `maxAgeMs`, as for the access snapshot, is only a safety net for rows changed where no bus
   * reaches (SQL by hand; separate `server` and `gateway` processes on one SQLite file).
   */
  constructor(private readonly ds: DataSource, private readonly access: AccessService, private readonly changes: ChangeFeed, private readonly maxAgeMs = 15_000) {
    changes.subscribe(() => {
      this.#version++;
      this.#compiled = null;
      this.#loading = null;
    });
  }

  list(q: ListQuery & { active?: boolean | undefined }): Promise<Page<CommandFilter>> {
    const qb = this.ds.getRepository(CommandFilterEntity).createQueryBuilder('f').orderBy('f.priority', 'ASC').addOrderBy('f.name', 'ASC');
    applySearch(qb, ['f.name', 'f.pattern', 'f.comment'], q.search);
    if (q.active !== undefined) qb.andWhere('f.active = :active', { active: q.active });
    return paginate(qb, q);
  }

  async get(id: string): Promise<CommandFilter> {
    const f = await this.ds.getRepository(CommandFilterEntity).findOneBy({ id });
    if (!f) throw new NotFoundError('command filter not found', { reason: 'command_filter_not_found' });
    return f;
  }

  async create(actor: Actor, input: CommandFilterInput): Promise<CommandFilter> {
    const id = newId();
    const kind = input.kind ?? 'commands';
    const problem = checkPattern(kind, input.pattern);
    if (problem) throw new ValidationError(problem.message, { field: 'pattern', reason: problem.reason, max: problem.max });
    await this.ds.transaction(async (em) => {
      if (await em.getRepository(CommandFilterEntity).existsBy({ name: input.name })) throw new ConflictError(`a command filter named '${input.name}' exists`, { reason: 'command_filter_name_taken', name: input.name, field: 'name' });
      const now = new Date();
      const row: CommandFilter = {
        id, name: input.name, kind, pattern: input.pattern, action: input.action ?? 'deny', priority: input.priority ?? 50,
        active: input.active ?? true, comment: input.comment ?? '', createdAt: now, updatedAt: now,
        users: [], userGroups: [], assets: [], nodes: [], systemUsers: [],
      };
      for (const [field, entity] of SCOPES) row[field] = await checkIds(em, entity, input[field], field);
      await em.getRepository(CommandFilterEntity).insert(row as never);
      await writeOperation(em, actor, { action: 'create', resourceType: 'command_filter', resourceId: id, resourceName: input.name, changes: { ...input } });
    });
    this.changes.emit('commandFilters');
    return this.get(id);
  }

  async update(actor: Actor, id: string, patch: Partial<CommandFilterInput>): Promise<CommandFilter> {
    await this.ds.transaction(async (em) => {
      const repo = em.getRepository(CommandFilterEntity);
      const f = await repo.findOneBy({ id });
      if (!f) throw new NotFoundError('command filter not found', { reason: 'command_filter_not_found' });
      if (patch.name !== undefined && patch.name !== f.name) {
        if (await repo.existsBy({ name: patch.name })) throw new ConflictError(`a command filter named '${patch.name}' exists`, { reason: 'command_filter_name_taken', name: patch.name, field: 'name' });
        f.name = patch.name;
      }
      if (patch.kind !== undefined) f.kind = patch.kind;
      if (patch.pattern !== undefined) f.pattern = patch.pattern;
      // Checked only when they change: a filter stored before RE2 that it cannot compile may
      // still be deactivated, renamed or rescoped without fixing it first.
      const problem = patch.kind !== undefined || patch.pattern !== undefined ? checkPattern(f.kind, f.pattern) : null;
      if (problem) throw new ValidationError(problem.message, { field: 'pattern', reason: problem.reason, max: problem.max });
      if (patch.action !== undefined) f.action = patch.action;
      if (patch.priority !== undefined) f.priority = patch.priority;
      if (patch.active !== undefined) f.active = patch.active;
      if (patch.comment !== undefined) f.comment = patch.comment;
      for (const [field, entity] of SCOPES) if (patch[field] !== undefined) f[field] = await checkIds(em, entity, patch[field], field);
      f.updatedAt = new Date();
      await repo.save(f);
      await writeOperation(em, actor, { action: 'update', resourceType: 'command_filter', resourceId: id, resourceName: f.name, changes: { ...patch } });
    });
    this.changes.emit('commandFilters');
    return this.get(id);
  }

  async remove(actor: Actor, id: string): Promise<void> {
    await this.ds.transaction(async (em) => {
      const f = await em.getRepository(CommandFilterEntity).findOneBy({ id });
      if (!f) throw new NotFoundError('command filter not found', { reason: 'command_filter_not_found' });
      await em.getRepository(CommandFilterEntity).delete({ id });
      await writeOperation(em, actor, { action: 'delete', resourceType: 'command_filter', resourceId: id, resourceName: f.name });
    });
    this.changes.emit('commandFilters');
  }

  /** Resolves the scope ids of filters to names, one query per kind. */
  async named(filters: CommandFilter[]): Promise<NamedCommandFilter[]> {
    const names = new Map<string, string>();
    for (const [field, entity] of SCOPES) {
      const ids = [...new Set(filters.flatMap((f) => f[field]))];
      if (ids.length === 0) continue;
      const rows = await this.ds.getRepository(entity as EntitySchema<ObjectLiteral>).findBy({ id: In(ids) });
      for (const r of rows) names.set(r.id as string, String(r.name ?? r.username ?? r.id));
    }
    const refs = (ids: string[]) => ids.map((id) => ({ id, name: names.get(id) ?? id }));
    return filters.map((f) => ({ ...f, users: refs(f.users), userGroups: refs(f.userGroups), assets: refs(f.assets), nodes: refs(f.nodes), systemUsers: refs(f.systemUsers) }));
  }

  /** The verdict for one command line typed by a user on an asset as a system user. */
  async check(ctx: FilterContext, line: string): Promise<CommandVerdict> {
    if (!line.trim()) return { action: 'allow', filter: null };
    for (const { filter: f, re } of await this.applicable(ctx)) {
      if (re.test(line)) return { action: f.action, filter: { id: f.id, name: f.name } };
    }
    return { action: 'allow', filter: null };
  }

  /** Whether any active filter applies to this session at all (a shell skips its checks when none does). */
  async anyFor(ctx: FilterContext): Promise<boolean> {
    return (await this.applicable(ctx)).length > 0;
  }

  /** Whether a deny or confirm filter applies to this session (an allow filter alone restricts nothing). */
  async restricts(ctx: FilterContext): Promise<boolean> {
    return (await this.applicable(ctx)).some(({ filter: f }) => f.action !== 'allow');
  }

  private async applicable(ctx: FilterContext): Promise<Compiled[]> {
    const compiled = await this.compiled();
    if (compiled.length === 0) return compiled;
    const snap = await this.access.snapshot();
    const groups = snap.users.get(ctx.userId)?.groups ?? [];
    const assetNodes = snap.ancestorsOf(ctx.assetId);
    return compiled.filter(({ filter: f }) => {
      if (f.users.length || f.userGroups.length) {
        const byUser = f.users.includes(ctx.userId);
        const byGroup = f.userGroups.some((g) => groups.includes(g));
        if (!byUser && !byGroup) return false;
      }
      if (f.assets.length || f.nodes.length) {
        if (!f.assets.includes(ctx.assetId) && !f.nodes.some((n) => assetNodes.has(n))) return false;
      }
      return !(f.systemUsers.length && (!ctx.systemUserId || !f.systemUsers.includes(ctx.systemUserId)));
    });
  }

  private compiled(): Promise<Compiled[]> {
    const cached = this.#compiled;
    if (cached && Date.now() - cached.loadedAt < this.maxAgeMs) return Promise.resolve(cached.filters);
    if (!this.#loading) {
      const version = this.#version;
      const loadedAt = Date.now();
      const loading = this.ds.getRepository(CommandFilterEntity).find({ where: { active: true }, order: { priority: 'ASC', name: 'ASC' } })
        .then((rows) => {
          const matchers = new Map<string, CommandMatcher>();
          const filters = rows.map((filter) => {
            const key = `${filter.kind}\u0000${filter.action}\u0000${filter.pattern}`;
            const re = matchers.get(key) ?? this.#matchers.get(key) ?? compileStored(filter);
            matchers.set(key, re);
            return { filter, re };
          });
          if (version === this.#version) {
            this.#compiled = { filters, loadedAt };
            this.#matchers = matchers;
          }
          return filters;
        })
        .finally(() => { if (this.#loading === loading) this.#loading = null; });
      this.#loading = loading;
    }
    return this.#loading;
  }
}

/**
 * A stored filter RE2 cannot compile (saved before matching moved to RE2, when lookaround was
 * still accepted) fails closed: a deny or confirm filter then matches every line in its scope,
 * so the verdict names it and an admin fixes it; an allow filter matches nothing.
 */
function compileStored(filter: CommandFilter): CommandMatcher {
  try {
    return compileFilter(filter);
  } catch {
    const matchAll = filter.action !== 'allow';
    return { test: () => matchAll };
  }
}

async function checkIds<T extends ObjectLiteral>(em: EntityManager, entity: EntitySchema<T>, ids: string[] | undefined, field: string): Promise<string[]> {
  if (!ids || ids.length === 0) return [];
  const unique = [...new Set(ids)];
  const n = await em.getRepository(entity).countBy({ id: In(unique) } as never);
  if (n !== unique.length) throw new ValidationError(`unknown id in ${field}`, { reason: 'unknown_id', field });
  return unique;
}
