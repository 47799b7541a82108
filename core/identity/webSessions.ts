import type { DataSource } from 'typeorm';
import { AuthSessionEntity, UserEntity, type AuthSession, type User } from '../db/entities/index.ts';
import type { Bus } from '../bus.ts';
import { hashToken, newToken } from './tokens.ts';

/** Browser sessions kept server-side, so logout, disabling and password changes revoke them at once. */
export class WebSessionService {
  /** `bus` tells live holders of a session (websockets, in any process) to check it again when one ends. */
  constructor(private readonly ds: DataSource, private readonly ttlMinutes: number, private readonly bus?: Bus) {}

  async create(user: User, ctx: { clientAddress: string; userAgent: string }): Promise<{ token: string; session: AuthSession }> {
    const token = newToken('');
    const now = new Date();
    const session: AuthSession = {
      id: hashToken(token), userId: user.id, clientAddress: ctx.clientAddress.slice(0, 64), userAgent: ctx.userAgent.slice(0, 512),
      createdAt: now, lastSeenAt: now, expiresAt: new Date(now.getTime() + this.ttlMinutes * 60_000),
    };
    await this.ds.getRepository(AuthSessionEntity).insert(session);
    return { token, session };
  }

  async resolve(token: string): Promise<{ user: User; session: AuthSession } | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const session = await this.ds.getRepository(AuthSessionEntity).findOneBy({ id: hashToken(token) });
    if (!session) return null;
    const now = Date.now();
    if (session.expiresAt.getTime() <= now) {
      await this.ds.getRepository(AuthSessionEntity).delete({ id: session.id });
      return null;
    }
    const user = await this.ds.getRepository(UserEntity).findOneBy({ id: session.userId });
    if (!user) return null;
    if (now - session.lastSeenAt.getTime() > 60_000) {
      await this.ds.getRepository(AuthSessionEntity).update({ id: session.id }, { lastSeenAt: new Date(now) });
    }
    return { user, session };
  }

  async revoke(sessionId: string): Promise<void> {
    const session = await this.ds.getRepository(AuthSessionEntity).findOneBy({ id: sessionId });
    if (!session) return;
    await this.ds.getRepository(AuthSessionEntity).delete({ id: sessionId });
    this.bus?.publish('credentials.revoked', { userId: session.userId });
  }

  async revokeAll(userId: string): Promise<void> {
    await this.ds.getRepository(AuthSessionEntity).delete({ userId });
    this.bus?.publish('credentials.revoked', { userId });
  }
}
