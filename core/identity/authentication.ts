import type { DataSource } from 'typeorm';
import { newId } from '../ids.ts';
import { LoginLogEntity, UserEntity, type LoginLog, type User } from '../db/entities/index.ts';
import type { Vault } from '../vault/vault.ts';
import { hashPassword, needsRehash, verifyPassword } from './passwordHash.ts';
import { isLocked } from './lockout.ts';
import { totpStep } from './totp.ts';
import type { LockedPair, LoginThrottle } from './loginThrottle.ts';
import type { Actor } from '../actor.ts';
import { writeOperation } from '../audit/operationLog.ts';
import type { AuditJournal } from '../audit/auditJournal.ts';
import { isDatabaseUnavailable } from '../db/databaseFaults.ts';
import type { Metrics } from '../metrics.ts';
import { MfaPolicyService } from './mfaPolicy.ts';
import { spendRecoveryCode } from './recoveryCodes.ts';

export interface LoginContext {
  clientAddress: string;
  channel: LoginLog['channel'];
}

export type LoginFailure = 'invalid_credentials' | 'locked' | 'inactive' | 'expired' | 'invalid_totp' | 'totp_reused' | 'mfa_enrolment_required' | 'rate_limited' | 'connection_limit';

export const LOGIN_MESSAGES: Record<LoginFailure, string> = {
  // One message for wrong password, unknown user, disabled and locked account: no oracle
  // (rule 9). The login log keeps the real reason for the admin.
  invalid_credentials: 'invalid username or password',
  inactive: 'invalid username or password',
  expired: 'invalid username or password',
  locked: 'invalid username or password',
  invalid_totp: 'invalid one-time code',
  // Only said after the password was right, and only for the code of the current or last slot:
  // the one thing an honest user does wrong is type the code they have just used.
  totp_reused: 'this code was just used; wait for the next code',
  mfa_enrolment_required: 'your role requires two-factor authentication: set it up in the web console (My profile), then log in again',
  // About the caller's address, whatever the username: tells nothing about accounts.
  rate_limited: 'too many login attempts from your address; try again in a minute',
  // Only said after the credentials were right (BASTION_MAX_CONNECTIONS_PER_USER; the SSH gateway says it with the limit).
  connection_limit: 'you already have the most SSH connections allowed open; close one first',
};

export type FactorResult = { ok: true; user: User } | { ok: false; failure: LoginFailure; message: string };

/** Login decisions shared by the web and the SSH gateway: one throttle, one log. */
export class AuthenticationService {
  /** `journal` keeps the login-log rows the database cannot take during an outage (issue 12 item 10). */
  readonly mfaPolicy: MfaPolicyService;

  constructor(private readonly ds: DataSource, private readonly vault: Vault, readonly throttle: LoginThrottle, private readonly journal?: AuditJournal, private readonly metrics?: Metrics) {
    this.mfaPolicy = new MfaPolicyService(ds);
  }

  /** Why this user may not log in now, or null (an admin's lock is `locked`). */
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

  /**
   * Checks a password (a login's first factor, or the current password before a change).
   * Order matters: the source's rate first (cheap), then the (username, source) pair is counted
   * BEFORE the hash is checked, so parallel guesses cannot all pass a stale "not locked yet";
   * then the account's slowdown; then the hash. Locked, wrong and unknown read the same.
   */
  async password(username: string, password: string, ctx: LoginContext, method = 'password'): Promise<FactorResult> {
    const name = username.toLowerCase().slice(0, 128);
    const gate = await this.#gate(name, ctx, method);
    if (gate) return gate;
    let user: User | null;
    let ok: boolean;
    try {
      user = await this.findUser(name);
      ok = await verifyPassword(user?.passwordHash ?? null, password);
    } catch (err) {
      // The slot taken by #gate must not stay taken (the pair would look busy until its period ends).
      await this.throttle.pairRight(name, ctx.clientAddress).catch(() => undefined);
      throw err;
    }
    if (!ok) {
      await this.throttle.pairWrong(name, ctx.clientAddress);
      await this.throttle.accountFailed(name);
      return this.fail(name, user, ctx, method, 'invalid_credentials');
    }
    await this.throttle.pairRight(name, ctx.clientAddress);
    await this.throttle.sourceRight(ctx.clientAddress);
    const refusal = user ? this.refusal(user) : 'invalid_credentials';
    if (!user || refusal) return this.fail(name, user, ctx, method, refusal ?? 'invalid_credentials');
    await this.#rehash(user, password);
    return { ok: true, user };
  }

  /**
   * A password hashed with former parameters (19 MiB argon2id before issue 13) is hashed again
   * with today's once it has been checked: each later login holds 7 MiB, not 19. Only if the
   * stored hash is still the one checked (a change meanwhile wins); a failure leaves the old one.
   */
  async #rehash(user: User, password: string): Promise<void> {
    if (!needsRehash(user.passwordHash)) return;
    try {
      await this.ds.getRepository(UserEntity).createQueryBuilder().update().set({ passwordHash: await hashPassword(password) })
        .where('id = :id AND password_hash = :old', { id: user.id, old: user.passwordHash }).execute();
    } catch {
      // The old hash still verifies: the login goes on.
    }
  }

  /** Source rate, pair lock, account slowdown: a refusal, or null to go on and check the secret. */
  async #gate(name: string, ctx: LoginContext, method: string): Promise<(FactorResult & { ok: false }) | null> {
    if (!(await this.throttle.sourceAllowed(ctx.clientAddress))) return this.fail(name, null, ctx, method, 'rate_limited');
    if ((await this.throttle.reservePair(name, ctx.clientAddress)) === 'locked') return this.fail(name, null, ctx, method, 'locked');
    const delay = await this.throttle.accountDelayMs(name);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    return null;
  }

  /** Called only once the signature over the session was verified against a stored key. */
  async publicKeyVerified(user: User, ctx: LoginContext): Promise<FactorResult> {
    const refusal = this.refusal(user);
    if (refusal) return this.fail(user.username, user, ctx, 'publickey', refusal);
    return { ok: true, user };
  }

  needsTotp(user: User): boolean {
    return user.totpEnabled && user.totpSecret !== null;
  }

  /** A TOTP code is a guessable secret too: it goes through the same gate as a password. */
  async totp(user: User, code: string, ctx: LoginContext): Promise<FactorResult> {
    const fresh = await this.#secondFactorUser(user, ctx, 'totp');
    if (!fresh.ok) return fresh;
    const current = fresh.user;
    const step = current.totpSecret ? totpStep(this.vault.open(current.totpSecret).reveal(), code) : null;
    if (step === null) return this.#wrongSecondFactor(current, ctx, 'totp', 'invalid_totp');
    // A code already used (same or older step) is refused: no replay. Counted like a wrong one.
    if (current.totpLastStep !== null && step <= current.totpLastStep) return this.#wrongSecondFactor(current, ctx, 'totp', 'totp_reused');
    const claimed = await this.ds.getRepository(UserEntity).createQueryBuilder().update().set({ totpLastStep: step })
      .where('id = :id AND (totp_last_step IS NULL OR totp_last_step < :step)', { id: current.id, step }).execute();
    if (claimed.affected === 0) return this.#wrongSecondFactor(current, ctx, 'totp', 'totp_reused');
    return this.#secondFactorRight(current, ctx, { ...current, totpLastStep: step });
  }

  /** One of the ten recovery codes instead of a TOTP code: good once, then spent. */
  async recoveryCode(user: User, code: string, ctx: LoginContext): Promise<FactorResult> {
    const fresh = await this.#secondFactorUser(user, ctx, 'recovery_code');
    if (!fresh.ok) return fresh;
    if (!(await spendRecoveryCode(this.ds.manager, this.vault, fresh.user.id, code))) return this.#wrongSecondFactor(fresh.user, ctx, 'recovery_code', 'invalid_totp');
    return this.#secondFactorRight(fresh.user, ctx, fresh.user);
  }

  /** The gate, then the user as stored now (disabled or locked meanwhile → refused). */
  async #secondFactorUser(user: User, ctx: LoginContext, method: string): Promise<FactorResult> {
    const gate = await this.#gate(user.username, ctx, method);
    if (gate) return gate;
    const fresh = await this.ds.getRepository(UserEntity).findOneBy({ id: user.id });
    const refusal = fresh ? this.refusal(fresh) : 'invalid_credentials';
    if (!fresh || refusal) {
      await this.throttle.pairRight(user.username, ctx.clientAddress);
      return this.fail(user.username, fresh, ctx, method, refusal ?? 'invalid_credentials');
    }
    return { ok: true, user: fresh };
  }

  async #wrongSecondFactor(user: User, ctx: LoginContext, method: string, failure: LoginFailure): Promise<FactorResult> {
    await this.throttle.pairWrong(user.username, ctx.clientAddress);
    await this.throttle.accountFailed(user.username);
    return this.fail(user.username, user, ctx, method, failure);
  }

  async #secondFactorRight(user: User, ctx: LoginContext, result: User): Promise<FactorResult> {
    await this.throttle.pairRight(user.username, ctx.clientAddress);
    await this.throttle.sourceRight(ctx.clientAddress);
    return { ok: true, user: result };
  }

  async succeed(user: User, ctx: LoginContext, method: string): Promise<void> {
    await this.throttle.resetPair(user.username, ctx.clientAddress);
    await this.ds.transaction(async (em) => {
      await em.getRepository(UserEntity).update({ id: user.id }, { lastLoginAt: new Date() });
      await em.getRepository(LoginLogEntity).insert(logRow(user.username, user.id, ctx, method, true, 'ok'));
    });
    this.metrics?.login(ctx.channel, true);
  }

  /** (username, source) pairs locked now, for the admin. */
  lockedPairs(): Promise<LockedPair[]> {
    return this.throttle.lockedPairs();
  }

  /** An admin clears the locks of a username (one source, or all), with an OperationLog row. */
  async clearLocks(actor: Actor, username: string, source?: string): Promise<number> {
    const cleared = await this.throttle.clear(username.toLowerCase(), source);
    await this.ds.transaction(async (em) => {
      await writeOperation(em, actor, {
        action: 'unlock', resourceType: 'login_lock', resourceId: null, resourceName: source ? `${username} from ${source}` : username,
      });
    });
    return cleared;
  }

  /** Writes the LoginLog row of a refused attempt (counting happened in the throttle already). */
  async fail(username: string, user: User | null, ctx: LoginContext, method: string, failure: LoginFailure): Promise<FactorResult & { ok: false }> {
    this.metrics?.login(ctx.channel, false);
    await this.#logOrJournal(logRow(username, user?.id ?? null, ctx, method, false, failure));
    return { ok: false, failure, message: LOGIN_MESSAGES[failure] };
  }

  /**
   * An attempt refused because the database does not answer: its LoginLog row (reason
   * `database_unavailable`, user unknown since it could not be looked up) goes to the journal
   * and is written when the database is back. Never throws: the caller is already refusing.
   */
  unavailable(username: string, ctx: LoginContext, method: string): void {
    this.metrics?.login(ctx.channel, false);
    this.journal?.append({ t: 'rows', table: 'login_log', rows: [logRow(username, null, ctx, method, false, 'database_unavailable') as unknown as Record<string, unknown>] });
  }

  async #logOrJournal(row: LoginLog): Promise<void> {
    try {
      await this.ds.getRepository(LoginLogEntity).insert(row);
    } catch (err) {
      if (!this.journal || !isDatabaseUnavailable(err)) throw err;
      this.journal.append({ t: 'rows', table: 'login_log', rows: [row as unknown as Record<string, unknown>] });
    }
  }
}

function logRow(username: string, userId: string | null, ctx: LoginContext, method: string, ok: boolean, reason: string): LoginLog {
  return {
    id: newId(), username: username.slice(0, 128), userId, clientAddress: ctx.clientAddress.slice(0, 64),
    channel: ctx.channel, method, ok, reason, createdAt: new Date(),
  };
}
