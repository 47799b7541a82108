import type { DataSource, EntitySchema, ObjectLiteral } from 'typeorm';
import type { Actor } from '../actor.ts';
import type { ChangeFeed } from '../changeFeed.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { newId } from '../ids.ts';
import { applySearch, paginate, type ListQuery, type Page } from '../db/listing.ts';
import { AdminUserEntity, SystemUserEntity, type AdminUser, type LoginMode, type SystemUser } from '../db/entities/index.ts';
import { writeOperation } from '../audit/operationLog.ts';
import type { Vault } from '../vault/vault.ts';
import type { Secret } from '../vault/secret.ts';
import ssh2 from 'ssh2';

/** Fields shared by system users and admin users: accounts on assets whose secrets are sealed. */
interface Account extends ObjectLiteral {
  id: string;
  name: string;
  username: string;
  password: string | null;
  privateKey: string | null;
  comment: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface AccountInput {
  name: string;
  username: string;
  password?: string | null | undefined;
  privateKey?: string | null | undefined;
  comment?: string | undefined;
}

export interface AccountSecrets {
  password: Secret<string> | null;
  privateKey: Secret<string> | null;
}

function checkPrivateKey(pem: string | null | undefined): void {
  if (!pem) return;
  const parsed = ssh2.utils.parseKey(pem);
  if (parsed instanceof Error || Array.isArray(parsed) || !parsed.isPrivateKey()) {
    throw new ValidationError('privateKey must be an unencrypted OpenSSH or PEM private key', { reason: 'invalid_private_key', field: 'privateKey' });
  }
}

/** CRUD for a sealed-secret account table; subclasses add their own fields. */
abstract class AccountService<T extends Account, I extends AccountInput> {
  protected abstract readonly entity: EntitySchema<T>;
  protected abstract readonly resourceType: string;
  protected abstract readonly notFound: 'system_user_not_found' | 'admin_user_not_found';
  protected abstract build(input: I): Omit<T, keyof Account>;
  protected abstract apply(row: T, patch: Partial<I>): void;

  constructor(protected readonly ds: DataSource, protected readonly vault: Vault, protected readonly changes: ChangeFeed) {}

  list(q: ListQuery): Promise<Page<T>> {
    const qb = this.ds.getRepository(this.entity).createQueryBuilder('s').orderBy('s.name', 'ASC');
    applySearch(qb, ['s.name', 's.username', 's.comment'], q.search);
    return paginate(qb, q);
  }

  async get(id: string): Promise<T> {
    const row = await this.ds.getRepository(this.entity).findOneBy({ id } as never);
    if (!row) throw new NotFoundError(`${this.resourceType.replace('_', ' ')} not found`, { reason: this.notFound });
    return row;
  }

  secrets(row: T): AccountSecrets {
    return {
      password: row.password ? this.vault.open(row.password) : null,
      privateKey: row.privateKey ? this.vault.open(row.privateKey) : null,
    };
  }

  async create(actor: Actor, input: I): Promise<T> {
    checkPrivateKey(input.privateKey);
    const id = newId();
    const now = new Date();
    await this.ds.transaction(async (em) => {
      const repo = em.getRepository(this.entity);
      if (await repo.existsBy({ name: input.name } as never)) throw new ConflictError(`'${input.name}' exists`, { reason: 'account_name_taken', name: input.name, field: 'name' });
      const row = {
        id, name: input.name, username: input.username, comment: input.comment ?? '',
        password: this.vault.sealOptional(input.password), privateKey: this.vault.sealOptional(input.privateKey),
        createdAt: now, updatedAt: now, ...this.build(input),
      } as unknown as T;
      await repo.insert(row as never);
      await writeOperation(em, actor, { action: 'create', resourceType: this.resourceType, resourceId: id, resourceName: input.name, changes: { ...(input as AccountInput) } });
    });
    this.changes.emit('systemUsers');
    return this.get(id);
  }

  async update(actor: Actor, id: string, patch: Partial<I>): Promise<T> {
    checkPrivateKey(patch.privateKey);
    await this.ds.transaction(async (em) => {
      const repo = em.getRepository(this.entity);
      const row = await repo.findOneBy({ id } as never);
      if (!row) throw new NotFoundError(`${this.resourceType.replace('_', ' ')} not found`, { reason: this.notFound });
      if (patch.name !== undefined && patch.name !== row.name) {
        if (await repo.existsBy({ name: patch.name } as never)) throw new ConflictError(`'${patch.name}' exists`, { reason: 'account_name_taken', name: patch.name, field: 'name' });
        (row as Account).name = patch.name;
      }
      if (patch.username !== undefined) (row as Account).username = patch.username;
      if (patch.comment !== undefined) (row as Account).comment = patch.comment;
      // null clears a secret, a string replaces it, absent keeps it.
      if (patch.password !== undefined) (row as Account).password = this.vault.sealOptional(patch.password);
      if (patch.privateKey !== undefined) (row as Account).privateKey = this.vault.sealOptional(patch.privateKey);
      this.apply(row, patch);
      (row as Account).updatedAt = new Date();
      await repo.save(row);
      await writeOperation(em, actor, { action: 'update', resourceType: this.resourceType, resourceId: id, resourceName: row.name, changes: { ...patch } });
    });
    this.changes.emit('systemUsers');
    return this.get(id);
  }

  async remove(actor: Actor, id: string): Promise<void> {
    await this.ds.transaction(async (em) => {
      const repo = em.getRepository(this.entity);
      const row = await repo.findOneBy({ id } as never);
      if (!row) throw new NotFoundError(`${this.resourceType.replace('_', ' ')} not found`, { reason: this.notFound });
      await repo.delete({ id } as never);
      await writeOperation(em, actor, { action: 'delete', resourceType: this.resourceType, resourceId: id, resourceName: row.name });
    });
    this.changes.emit('systemUsers');
  }
}

export interface SystemUserInput extends AccountInput {
  loginMode?: LoginMode | undefined;
  priority?: number | undefined;
  sudo?: string | undefined;
  shell?: string | undefined;
}

export class SystemUserService extends AccountService<SystemUser, SystemUserInput> {
  protected readonly entity = SystemUserEntity;
  protected readonly resourceType = 'system_user';
  protected readonly notFound = 'system_user_not_found';
  protected build(input: SystemUserInput) {
    return { loginMode: input.loginMode ?? 'auto', priority: input.priority ?? 20, sudo: input.sudo ?? '', shell: input.shell ?? '/bin/bash' };
  }
  protected apply(row: SystemUser, patch: Partial<SystemUserInput>): void {
    if (patch.loginMode !== undefined) row.loginMode = patch.loginMode;
    if (patch.priority !== undefined) row.priority = patch.priority;
    if (patch.sudo !== undefined) row.sudo = patch.sudo;
    if (patch.shell !== undefined) row.shell = patch.shell;
  }
}

export class AdminUserService extends AccountService<AdminUser, AccountInput> {
  protected readonly entity = AdminUserEntity;
  protected readonly resourceType = 'admin_user';
  protected readonly notFound = 'admin_user_not_found';
  protected build() {
    return {};
  }
  protected apply(): void {}
}
