import { In, type DataSource, type EntityManager } from 'typeorm';
import type { Actor } from '../actor.ts';
import type { ChangeFeed } from '../changeFeed.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import { newId } from '../ids.ts';
import { applySearch, paginate, type ListQuery, type Page } from '../db/listing.ts';
import { ApiTokenEntity, AuthSessionEntity, RecoveryCodeEntity, UserEntity, UserGroupEntity, type Role, type User, type UserGroup } from '../db/entities/index.ts';
import { writeOperation } from '../audit/operationLog.ts';
import { hashPassword, verifyPassword } from './passwordHash.ts';
import { checkPasswordRules } from './passwordRules.ts';
import { randomBytes } from 'node:crypto';
import type { Bus } from '../bus.ts';

export interface UserInput {
  username: string;
  name?: string | undefined;
  email?: string | null | undefined;
  role?: Role | undefined;
  password?: string | undefined;
  mustChangePassword?: boolean | undefined;
  active?: boolean | undefined;
  expiresAt?: Date | null | undefined;
  groups?: string[] | undefined;
  comment?: string | undefined;
}

export type UserPatch = Partial<Omit<UserInput, 'username'>> & { username?: string | undefined };

export interface UserListQuery extends ListQuery {
  role?: Role | undefined;
  group?: string | undefined;
  active?: boolean | undefined;
}

export class UserService {
  constructor(private readonly ds: DataSource, private readonly changes: ChangeFeed, private readonly bus?: Bus) {}

  /** Ends whatever the user holds live, in every process: SSH sessions, connections, websockets. */
  #revokeLive(userId: string, reason: string): void {
    this.bus?.publish('user.revoked', { userId, reason });
  }

  async list(q: UserListQuery): Promise<Page<User>> {
    const qb = this.ds.getRepository(UserEntity).createQueryBuilder('u').leftJoinAndSelect('u.groups', 'g').orderBy('u.username', 'ASC');
    applySearch(qb, ['u.username', 'u.name', 'u.email'], q.search);
    if (q.role) qb.andWhere('u.role = :role', { role: q.role });
    if (q.active !== undefined) qb.andWhere('u.active = :active', { active: q.active });
    if (q.group) qb.andWhere('u.id IN (SELECT user_id FROM user_group_member WHERE group_id = :gid)', { gid: q.group });
    return paginate(qb, q);
  }

  async get(id: string, em: EntityManager = this.ds.manager): Promise<User> {
    const user = await em.getRepository(UserEntity).findOne({ where: { id }, relations: { groups: true } });
    if (!user) throw new NotFoundError('user not found', { reason: 'user_not_found' });
    return user;
  }

  findByUsername(username: string): Promise<User | null> {
    return this.ds.getRepository(UserEntity).findOne({ where: { username: username.toLowerCase() }, relations: { groups: true } });
  }

  async create(actor: Actor, input: UserInput): Promise<User> {
    const username = input.username.toLowerCase();
    if (input.password) checkPasswordRules(input.password, username);
    const passwordHash = input.password ? await hashPassword(input.password) : null;
    const id = newId();
    await this.ds.transaction(async (em) => {
      if (await em.getRepository(UserEntity).existsBy({ username })) throw new ConflictError(`username '${username}' is taken`, { reason: 'username_taken', username, field: 'username' });
      const groups = await loadGroups(em, input.groups);
      const now = new Date();
      await em.getRepository(UserEntity).save({
        id, username, name: input.name ?? username, email: input.email ?? null, role: input.role ?? 'user',
        passwordHash, mustChangePassword: input.mustChangePassword ?? Boolean(input.password),
        totpSecret: null, totpEnabled: false, totpLastStep: null, active: input.active ?? true, expiresAt: input.expiresAt ?? null,
        lockedUntil: null, lastLoginAt: null, comment: input.comment ?? '', createdAt: now, updatedAt: now, groups,
      });
      await writeOperation(em, actor, { action: 'create', resourceType: 'user', resourceId: id, resourceName: username, changes: { ...input, password: input.password ? 'set' : undefined } });
    });
    this.changes.emit('users');
    return this.get(id);
  }

  async update(actor: Actor, id: string, patch: UserPatch): Promise<User> {
    const passwordHash = patch.password ? await hashPassword(patch.password) : undefined;
    let roleChanged = false;
    await this.ds.transaction(async (em) => {
      const user = await this.get(id, em);
      roleChanged = patch.role !== undefined && patch.role !== user.role;
      if (patch.password) checkPasswordRules(patch.password, user.username);
      if (patch.username !== undefined && patch.username.toLowerCase() !== user.username) {
        const username = patch.username.toLowerCase();
        if (await em.getRepository(UserEntity).existsBy({ username })) throw new ConflictError(`username '${username}' is taken`, { reason: 'username_taken', username, field: 'username' });
        user.username = username;
      }
      if (actor.id === id && (patch.role && patch.role !== user.role || patch.active === false)) {
        throw new ForbiddenError('you cannot change your own role or disable yourself', { reason: 'cannot_change_own_role' });
      }
      if (user.role === 'admin' && (patch.role && patch.role !== 'admin' || patch.active === false)) await ensureAnotherAdmin(em, id);
      if (patch.name !== undefined) user.name = patch.name;
      if (patch.email !== undefined) user.email = patch.email;
      if (patch.role !== undefined) user.role = patch.role;
      if (patch.active !== undefined) user.active = patch.active;
      if (patch.expiresAt !== undefined) user.expiresAt = patch.expiresAt;
      if (patch.comment !== undefined) user.comment = patch.comment;
      if (patch.mustChangePassword !== undefined) user.mustChangePassword = patch.mustChangePassword;
      if (passwordHash) {
        user.passwordHash = passwordHash;
        if (patch.mustChangePassword === undefined) user.mustChangePassword = true;
      }
      if (patch.groups !== undefined) user.groups = await loadGroups(em, patch.groups);
      user.updatedAt = new Date();
      await em.getRepository(UserEntity).save(user);
      // Disabling or re-keying a user ends their web sessions at once; their API tokens are
      // deleted, so that re-enabling the account does not bring them back.
      if (patch.active === false || passwordHash || patch.role !== undefined) await em.getRepository(AuthSessionEntity).delete({ userId: id });
      if (patch.active === false || passwordHash) await em.getRepository(ApiTokenEntity).delete({ userId: id });
      await writeOperation(em, actor, { action: 'update', resourceType: 'user', resourceId: id, resourceName: user.username, changes: { ...patch, password: patch.password ? 'changed' : undefined } });
    });
    this.changes.emit('users');
    // Disabling needs no message of its own: core/access no longer grants anything to the user,
    // and every gateway re-checks its sessions on the change (rule 11).
    if (passwordHash && actor.id !== id) this.#revokeLive(id, 'your password has been reset by an administrator');
    else if (roleChanged) this.#revokeLive(id, 'your role has been changed by an administrator; log in again');
    return this.get(id);
  }

  async remove(actor: Actor, id: string): Promise<void> {
    await this.ds.transaction(async (em) => {
      const user = await this.get(id, em);
      if (actor.id === id) throw new ForbiddenError('you cannot delete yourself', { reason: 'cannot_delete_self' });
      if (user.role === 'admin') await ensureAnotherAdmin(em, id);
      await em.getRepository(UserEntity).delete({ id });
      await writeOperation(em, actor, { action: 'delete', resourceType: 'user', resourceId: id, resourceName: user.username });
    });
    this.changes.emit('users');
  }

  async setLock(actor: Actor, id: string, locked: boolean, minutes: number): Promise<User> {
    await this.ds.transaction(async (em) => {
      const user = await this.get(id, em);
      const lockedUntil = locked ? new Date(Date.now() + minutes * 60_000) : null;
      await em.getRepository(UserEntity).update({ id }, { lockedUntil, updatedAt: new Date() });
      if (locked) await em.getRepository(AuthSessionEntity).delete({ userId: id });
      await writeOperation(em, actor, { action: locked ? 'lock' : 'unlock', resourceType: 'user', resourceId: id, resourceName: user.username });
    });
    this.changes.emit('users');
    if (locked) this.#revokeLive(id, 'your account has been locked by an administrator');
    return this.get(id);
  }

  async resetMfa(actor: Actor, id: string): Promise<User> {
    await this.ds.transaction(async (em) => {
      const user = await this.get(id, em);
      await em.getRepository(UserEntity).update({ id }, { totpSecret: null, totpEnabled: false, totpLastStep: null, updatedAt: new Date() });
      await em.getRepository(RecoveryCodeEntity).delete({ userId: id });
      await writeOperation(em, actor, { action: 'reset_mfa', resourceType: 'user', resourceId: id, resourceName: user.username });
    });
    return this.get(id);
  }

  /** A one-time password for recovery (CLI); the user must change it at next login. */
  async resetPassword(actor: Actor, username: string): Promise<string> {
    const user = await this.findByUsername(username);
    if (!user) throw new NotFoundError(`no user named '${username}'`, { reason: 'user_not_found' });
    const oneTime = randomBytes(12).toString('base64url');
    const passwordHash = await hashPassword(oneTime);
    await this.ds.transaction(async (em) => {
      await em.getRepository(UserEntity).update({ id: user.id }, { passwordHash, mustChangePassword: true, lockedUntil: null, updatedAt: new Date() });
      await em.getRepository(AuthSessionEntity).delete({ userId: user.id });
      await em.getRepository(ApiTokenEntity).delete({ userId: user.id });
      await writeOperation(em, actor, { action: 'reset_password', resourceType: 'user', resourceId: user.id, resourceName: user.username });
    });
    this.changes.emit('users');
    this.#revokeLive(user.id, 'your password has been reset by an administrator');
    return oneTime;
  }

  /**
   * The user's own change: needs the current password; ends every other web session and
   * revokes every API token, as an admin reset does — a password is changed when it may be
   * known to someone else, who may have minted a token with it (issue 12 item 4).
   */
  async changeOwnPassword(actor: Actor, userId: string, oldPassword: string, newPassword: string, keepSessionId?: string): Promise<void> {
    const user = await this.get(userId);
    if (!(await verifyPassword(user.passwordHash, oldPassword))) throw new ValidationError('current password is wrong', { reason: 'wrong_password', field: 'oldPassword' });
    checkPasswordRules(newPassword, user.username, 'newPassword');
    if (oldPassword === newPassword) throw new ValidationError('the new password must differ from the current one', { reason: 'password_unchanged', field: 'newPassword' });
    const passwordHash = await hashPassword(newPassword);
    await this.ds.transaction(async (em) => {
      await em.getRepository(UserEntity).update({ id: userId }, { passwordHash, mustChangePassword: false, updatedAt: new Date() });
      const qb = em.getRepository(AuthSessionEntity).createQueryBuilder().delete().where('user_id = :userId', { userId });
      if (keepSessionId) qb.andWhere('id <> :keep', { keep: keepSessionId });
      await qb.execute();
      await em.getRepository(ApiTokenEntity).delete({ userId });
      await writeOperation(em, actor, { action: 'change_password', resourceType: 'user', resourceId: userId, resourceName: user.username });
    });
  }
}

async function loadGroups(em: EntityManager, ids: string[] | undefined): Promise<UserGroup[]> {
  if (!ids || ids.length === 0) return [];
  const unique = [...new Set(ids)];
  const groups = await em.getRepository(UserGroupEntity).findBy({ id: In(unique) });
  if (groups.length !== unique.length) throw new ValidationError('unknown user group', { reason: 'unknown_user_group', field: 'groups', missing: unique.filter((i) => !groups.some((g) => g.id === i)) });
  return groups;
}

async function ensureAnotherAdmin(em: EntityManager, exceptId: string): Promise<void> {
  const others = await em.getRepository(UserEntity).createQueryBuilder('u')
    .where("u.role = 'admin' AND u.active = :t AND u.id <> :id", { t: true, id: exceptId }).getCount();
  if (others === 0) throw new ConflictError('this is the last active admin', { reason: 'last_admin' });
}
