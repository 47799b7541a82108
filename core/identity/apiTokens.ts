import type { DataSource } from 'typeorm';
import type { Actor } from '../actor.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { newId } from '../ids.ts';
import { ApiTokenEntity, UserEntity, type ApiToken, type User } from '../db/entities/index.ts';
import { writeOperation } from '../audit/operationLog.ts';
import { hashToken, newToken } from './tokens.ts';
import type { Bus } from '../bus.ts';
import { lockUserRow } from './userRowLock.ts';

export const TOKEN_PREFIX = 'bst_';

export class ApiTokenService {
  /** `bus` tells live holders of a token (websockets, in any process) to check it again when one is deleted. */
  /** `maxPerUser`: tokens one user may hold (BASTION_MAX_API_TOKENS_PER_USER). */
  constructor(private readonly ds: DataSource, private readonly bus?: Bus, private readonly maxPerUser = Infinity) {}

  list(userId: string): Promise<ApiToken[]> {
    return this.ds.getRepository(ApiTokenEntity).find({ where: { userId }, order: { createdAt: 'ASC' } });
  }

  /** Returns the token text once; only its SHA-256 is kept. */
  async create(actor: Actor, userId: string, input: { name: string; expiresAt?: Date | null | undefined }): Promise<{ token: string; record: ApiToken }> {
    // A token born expired would be a token that silently never works (or, checked loosely, always does).
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) throw new ValidationError('must be in the future', { reason: 'token_expiry_in_past', field: 'expiresAt' });
    const token = newToken(TOKEN_PREFIX);
    const record: ApiToken = {
      id: newId(), userId, name: input.name, tokenHash: hashToken(token), prefix: token.slice(0, 10),
      expiresAt: input.expiresAt ?? null, lastUsedAt: null, createdAt: new Date(),
    };
    await this.ds.transaction(async (em) => {
      await lockUserRow(em, userId);
      if ((await em.getRepository(ApiTokenEntity).countBy({ userId })) >= this.maxPerUser) {
        throw new ConflictError(`${this.maxPerUser} API tokens is the most one user may have; delete one first`, { reason: 'token_limit_reached', limit: this.maxPerUser });
      }
      await em.getRepository(ApiTokenEntity).insert(record);
      await writeOperation(em, actor, { action: 'create', resourceType: 'api_token', resourceId: record.id, resourceName: input.name });
    });
    return { token, record };
  }

  async remove(actor: Actor, userId: string, id: string): Promise<void> {
    await this.ds.transaction(async (em) => {
      const t = await em.getRepository(ApiTokenEntity).findOneBy({ id, userId });
      if (!t) throw new NotFoundError('token not found', { reason: 'token_not_found' });
      await em.getRepository(ApiTokenEntity).delete({ id });
      await writeOperation(em, actor, { action: 'delete', resourceType: 'api_token', resourceId: id, resourceName: t.name });
    });
    this.bus?.publish('credentials.revoked', { userId });
  }

  async resolve(token: string): Promise<User | null> {
    if (!token.startsWith(TOKEN_PREFIX)) return null;
    const rec = await this.ds.getRepository(ApiTokenEntity).findOneBy({ tokenHash: hashToken(token) });
    if (!rec) return null;
    if (rec.expiresAt && rec.expiresAt.getTime() <= Date.now()) return null;
    const user = await this.ds.getRepository(UserEntity).findOneBy({ id: rec.userId });
    if (!user) return null;
    if (!rec.lastUsedAt || Date.now() - rec.lastUsedAt.getTime() > 60_000) {
      await this.ds.getRepository(ApiTokenEntity).update({ id: rec.id }, { lastUsedAt: new Date() });
    }
    return user;
  }
}
