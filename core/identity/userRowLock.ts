// Counting a user's rows (keys, tokens) and adding one must be one step, or two requests at once
// both pass the count. SQLite's transactions already take turns (core/db/dataSource.ts); on
// PostgreSQL the user's row is locked (SELECT … FOR UPDATE) until the transaction ends, so the
// other request's count waits for this one's insert.
import type { EntityManager } from 'typeorm';
import { UserEntity, type User } from '../db/entities/index.ts';

/** The user, locked for the rest of `em`'s transaction; null when there is no such user. */
export function lockUserRow(em: EntityManager, userId: string): Promise<User | null> {
  const qb = em.getRepository(UserEntity).createQueryBuilder('u').where('u.id = :id', { id: userId });
  if (em.connection.options.type === 'postgres') qb.setLock('pessimistic_write');
  return qb.getOne();
}
