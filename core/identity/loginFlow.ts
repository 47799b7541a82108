// THE login, as one state machine: first factor (password, or a public key the protocol edge
// has verified) → TOTP (or a recovery code) when enrolled, or enrolment when the role requires
// MFA and none is set up → forced password change when required → done. Throttling
// and lockout happen inside every guess (AuthenticationService + LoginThrottle). The web route
// and the SSH gateway both drive this; a sign-in method that comes next (LDAP, OpenID Connect)
// is one more first factor here, not a third copy of the sequence.
import type { User } from '../db/entities/index.ts';
import { DomainError } from '../errors.ts';
import { LOGIN_MESSAGES, type AuthenticationService, type LoginContext, type LoginFailure } from './authentication.ts';
import type { UserService } from './users.ts';
import { looksLikeRecoveryCode } from './recoveryCodes.ts';

/** What the user still owes. */
export type LoginStep = 'first_factor' | 'totp' | 'enrol_mfa' | 'change_password' | 'done';

export type Advance =
  | { ok: true; next: LoginStep }
  | { ok: false; failure: LoginFailure; message: string };

/** A forced change that failed on the new password's rules: the user may try again. */
export type ChangeOutcome = Advance | { ok: false; retry: string };

export class LoginFlow {
  #user: User | null = null;
  #firstFactor: string | null = null;
  #secondFactor: 'totp' | 'recovery_code' | null = null;
  /** The role requires MFA and the user has none: read once the first factor is right. */
  #mustEnrol = false;
  #passwordChanged = false;

  constructor(
    private readonly auth: AuthenticationService,
    private readonly users: UserService,
    /** The login name as typed (without any SSH target part). */
    readonly username: string,
    readonly ctx: LoginContext,
  ) {}

  get user(): User | null {
    return this.#user;
  }

  /** e.g. `password`, `publickey+totp`, `keyboard-interactive+totp`. */
  get method(): string {
    return [this.#firstFactor, this.#secondFactor].filter(Boolean).join('+');
  }

  next(): LoginStep {
    const user = this.#user;
    if (!user || !this.#firstFactor) return 'first_factor';
    if (this.auth.needsTotp(user) && !this.#secondFactor) return 'totp';
    if (this.#mustEnrol) return 'enrol_mfa';
    if (user.mustChangePassword && !this.#passwordChanged) return 'change_password';
    return 'done';
  }

  /** The password as first factor; `method` names how it came (`password`, `keyboard-interactive`). */
  async password(password: string, method = 'password'): Promise<Advance> {
    if (this.#firstFactor) return this.#refuse('invalid_credentials');
    const res = await this.auth.password(this.username, password, this.ctx, method);
    if (!res.ok) return res;
    return this.#firstFactorDone(res.user, method);
  }

  /** A public key whose signature the protocol edge has verified against a key stored for `user`. */
  async publicKey(user: User): Promise<Advance> {
    if (this.#firstFactor) return this.#refuse('invalid_credentials');
    const res = await this.auth.publicKeyVerified(user, this.ctx);
    if (!res.ok) return res;
    return this.#firstFactorDone(res.user, 'publickey');
  }

  async #firstFactorDone(user: User, method: string): Promise<Advance> {
    this.#user = user;
    this.#firstFactor = method;
    this.#mustEnrol = await this.auth.mfaPolicy.enrolmentRequired(user);
    return { ok: true, next: this.next() };
  }

  /** A 6-digit TOTP code, or one of the user's recovery codes (`xxxxx-xxxxx`). */
  async totp(code: string): Promise<Advance> {
    if (this.next() !== 'totp') return this.#refuse('invalid_totp');
    const recovery = looksLikeRecoveryCode(code);
    const res = recovery ? await this.auth.recoveryCode(this.#user!, code, this.ctx) : await this.auth.totp(this.#user!, code, this.ctx);
    if (!res.ok) return res;
    this.#user = res.user;
    this.#secondFactor = recovery ? 'recovery_code' : 'totp';
    return { ok: true, next: this.next() };
  }

  /**
   * The role requires MFA and the user has none: over SSH the login ends here with a LoginLog row
   * and a message sending them to the web console, where the flow lets them in to enrol only.
   */
  async refuseForEnrolment(): Promise<Advance> {
    const user = this.#user;
    if (!user || this.next() !== 'enrol_mfa') return this.#refuse('invalid_credentials');
    return this.auth.fail(user.username, user, this.ctx, this.method, 'mfa_enrolment_required');
  }

  /**
   * The forced change. The current password is checked as a login attempt (counted, logged);
   * a new password that breaks the rules may be retried.
   */
  async changePassword(current: string, next: string): Promise<ChangeOutcome> {
    if (this.next() !== 'change_password') return this.#refuse('invalid_credentials');
    const user = this.#user!;
    const check = await this.auth.password(user.username, current, this.ctx, 'password-change');
    if (!check.ok) return check;
    try {
      const actor = { id: user.id, username: user.username, role: user.role, clientAddress: this.ctx.clientAddress };
      await this.users.changeOwnPassword(actor, user.id, current, next);
    } catch (err) {
      if (err instanceof DomainError) return { ok: false, retry: err.message };
      throw err;
    }
    this.#passwordChanged = true;
    return { ok: true, next: this.next() };
  }

  /**
   * Ends the flow with the success row. `deferPasswordChange` / `deferMfaEnrolment`: the web app
   * lets the user in with a session that can do nothing but change the password or enrol an
   * authenticator (the route layer enforces it, from the user row and the MFA policy).
   */
  async complete(opts: { deferPasswordChange?: boolean; deferMfaEnrolment?: boolean } = {}): Promise<User> {
    const step = this.next();
    const deferred = (step === 'change_password' && opts.deferPasswordChange) || (step === 'enrol_mfa' && opts.deferMfaEnrolment);
    if (step !== 'done' && !deferred) throw new Error(`login flow completed at step ${step}`);
    await this.auth.succeed(this.#user!, this.ctx, this.method);
    return this.#user!;
  }

  #refuse(failure: LoginFailure): Advance {
    return { ok: false, failure, message: LOGIN_MESSAGES[failure] };
  }
}
