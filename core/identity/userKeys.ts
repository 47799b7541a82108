import type { DataSource } from 'typeorm';
import type { Actor } from '../actor.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { newId } from '../ids.ts';
import { UserKeyEntity, type UserKey } from '../db/entities/index.ts';
import { writeOperation } from '../audit/operationLog.ts';
import { fingerprintOf, parsePublicKey } from './sshKeys.ts';
import { lockUserRow } from './userRowLock.ts';

export class UserKeyService {
  /** `maxPerUser`: keys one user may hold (BASTION_MAX_SSH_KEYS_PER_USER). */
  constructor(private readonly ds: DataSource, private readonly maxPerUser = Infinity) {}

  list(userId: string): Promise<UserKey[]> {
    return this.ds.getRepository(UserKeyEntity).find({ where: { userId }, order: { createdAt: 'ASC' } });
  }

  async add(actor: Actor, userId: string, input: { publicKey: string; name?: string | undefined }): Promise<UserKey> {
    const parsed = parsePublicKey(input.publicKey);
    const id = newId();
    await this.ds.transaction(async (em) => {
      const user = await lockUserRow(em, userId);
      if (!user) throw new NotFoundError('user not found', { reason: 'user_not_found' });
      if (await em.getRepository(UserKeyEntity).existsBy({ userId, fingerprint: parsed.fingerprint })) throw new ConflictError('this key is already registered', { reason: 'key_already_registered', field: 'publicKey' });
      // One key, one person: a key shared by two users would make either able to log in as the
      // other's key holder, and the login log could not tell who it was. Whose it is stays unsaid.
      if (await em.getRepository(UserKeyEntity).existsBy({ fingerprint: parsed.fingerprint })) throw new ConflictError('this key is registered to another user', { reason: 'key_registered_to_other_user', field: 'publicKey' });
      // Each key is tried at every public-key login of the user: their number is bounded.
      if ((await em.getRepository(UserKeyEntity).countBy({ userId })) >= this.maxPerUser) {
        throw new ConflictError(`${this.maxPerUser} SSH keys is the most one user may have; delete one first`, { reason: 'key_limit_reached', limit: this.maxPerUser });
      }
      await em.getRepository(UserKeyEntity).insert({
        id, userId, name: input.name || parsed.comment || parsed.type, publicKey: parsed.canonical,
        keyType: parsed.type, fingerprint: parsed.fingerprint, lastUsedAt: null, createdAt: new Date(),
      });
      await writeOperation(em, actor, { action: 'create', resourceType: 'user_key', resourceId: id, resourceName: `${user.username} ${parsed.fingerprint}` });
    });
    return (await this.ds.getRepository(UserKeyEntity).findOneBy({ id }))!;
  }

  async remove(actor: Actor, userId: string, keyId: string): Promise<void> {
    await this.ds.transaction(async (em) => {
      const key = await em.getRepository(UserKeyEntity).findOneBy({ id: keyId, userId });
      if (!key) throw new NotFoundError('key not found', { reason: 'key_not_found' });
      await em.getRepository(UserKeyEntity).delete({ id: keyId });
      await writeOperation(em, actor, { action: 'delete', resourceType: 'user_key', resourceId: keyId, resourceName: key.fingerprint });
    });
  }

  /** The stored key of this user matching an offered public key blob, if any. */
  async findForUser(userId: string, blob: Buffer): Promise<UserKey | null> {
    return this.ds.getRepository(UserKeyEntity).findOneBy({ userId, fingerprint: fingerprintOf(blob) });
  }

  async touch(keyId: string): Promise<void> {
    await this.ds.getRepository(UserKeyEntity).update({ id: keyId }, { lastUsedAt: new Date() });
  }
}
