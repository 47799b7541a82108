import type { DataSource } from 'typeorm';
import { newId } from '../ids.ts';
import { LoginLogEntity, UserEntity, type LoginLog, type User } from '../db/entities/index.ts';
import type { Vault } from '../vault/vault.ts';
import { verifyPassword } from './passwordHash.ts';
import { afterFailure, isLocked, type LockoutPolicy } from './lockout.ts';
import { totpStep } from './totp.ts';

export interface LoginContext {
  clientAddress: string;
  channel: LoginLog['channel'];
}

export type LoginFailure = 'invalid_credentials' | 'locked' | 'inactive' | 'expired' | 'invalid_totp';

export const LOGIN_MESSAGES: Record<LoginFailure, string> = {
  // One message for wrong password, unknown user and disabled account: no oracle (rule 9).
  invalid_credentials: 'invalid username or password',
  inactive: 'invalid username or password',
  expired: 'invalid username or password',
  locked: 'too many failed attempts; the account is locked for a while',
  invalid_totp: 'invalid one-time code',
};

export type FactorResult = { ok: true; user: User } | { ok: false; failure: LoginFailure; message: string };

/** Login decisions shared by the web and the SSH gateway: one lockout, one log. */
export class AuthenticationService {
  constructor(private readonly ds: DataSource, private readonly vault: Vault, private readonly policy: LockoutPolicy) {}

  /** Why this user may not log in now, or null. */
  refusal(user: User, now = new Date()): LoginFailure | null {
    if (!user.active) return 'inactive';
    if (user.expiresAt && user.expiresAt.getTime() <= now.getTime()) return 'expired';
    if (isLocked(user, now)) return 'locked';
    return null;
  }

  async findUser(username: string): Promise<User | null> {
    if (!/^[a-z0-9._-]{1,64}$/i.test(username)) return null;
    return this.ds.getRepository(UserEntity).findOneBy({ username: username.toLowerCase() });
  }

  async password(username: string, password: string, ctx: LoginContext): Promise<FactorResult> {
    const user = await this.findUser(username);
    const ok = await verifyPassword(user?.passwordHash ?? null, password);
    if (!user) return this.fail(username, null, ctx, 'password', 'invalid_credentials');
    const refusal = this.refusal(user);
    if (refusal === 'locked') return this.fail(username, user, ctx, 'password', 'locked', false);
    if (!ok) return this.fail(username, user, ctx, 'password', 'invalid_credentials');
    if (refusal) return this.fail(username, user, ctx, 'password', refusal, false);
    return { ok: true, user };
  }

  /** Called only once the signature over the session was verified against a stored key. */
  async publicKeyVerified(user: User, ctx: LoginContext): Promise<FactorResult> {
    const refusal = this.refusal(user);
    if (refusal) return this.fail(user.username, user, ctx, 'publickey', refusal, false);
    return { ok: true, user };
  }

  needsTotp(user: User): boolean {
    return user.totpEnabled && user.totpSecret !== null;
  }

  async totp(user: User, code: string, ctx: LoginContext): Promise<FactorResult> {
    const fresh = await this.ds.getRepository(UserEntity).findOneBy({ id: user.id });
    if (!fresh) return this.fail(user.username, null, ctx, 'totp', 'invalid_credentials');
    if (isLocked(fresh)) return this.fail(user.username, fresh, ctx, 'totp', 'locked', false);
    const step = fresh.totpSecret ? totpStep(this.vault.open(fresh.totpSecret).reveal(), code) : null;
    // A code already used (same or older step) is refused like a wrong one: no replay.
    if (step === null || (fresh.totpLastStep !== null && step <= fresh.totpLastStep)) {
      return this.fail(user.username, fresh, ctx, 'totp', 'invalid_totp');
    }
    const claimed = await this.ds.getRepository(UserEntity).createQueryBuilder().update().set({ totpLastStep: step })
      .where('id = :id AND (totp_last_step IS NULL OR totp_last_step < :step)', { id: fresh.id, step }).execute();
    if (claimed.affected === 0) return this.fail(user.username, fresh, ctx, 'totp', 'invalid_totp');
    return { ok: true, user: { ...fresh, totpLastStep: step } };
  }

  async succeed(user: User, ctx: LoginContext, method: string): Promise<void> {
    await this.ds.transaction(async (em) => {
      await em.getRepository(UserEntity).update({ id: user.id }, { failedLogins: 0, lastLoginAt: new Date() });
      await em.getRepository(LoginLogEntity).insert(logRow(user.username, user.id, ctx, method, true, 'ok'));
    });
  }

  /** Records a failure; `count` is false for refusals that are not guesses (key offers, locked accounts). */
  async fail(username: string, user: User | null, ctx: LoginContext, method: string, failure: LoginFailure, count = true): Promise<FactorResult & { ok: false }> {
    await this.ds.transaction(async (em) => {
      if (user && count) {
        const fresh = await em.getRepository(UserEntity).findOneBy({ id: user.id });
        if (fresh) await em.getRepository(UserEntity).update({ id: user.id }, afterFailure(fresh, this.policy));
      }
      await em.getRepository(LoginLogEntity).insert(logRow(username, user?.id ?? null, ctx, method, false, failure));
    });
    return { ok: false, failure, message: LOGIN_MESSAGES[failure] };
  }
}

function logRow(username: string, userId: string | null, ctx: LoginContext, method: string, ok: boolean, reason: string): LoginLog {
  return {
    id: newId(), username: username.slice(0, 128), userId, clientAddress: ctx.clientAddress.slice(0, 64),
    channel: ctx.channel, method, ok, reason, createdAt: new Date(),
  };
}
