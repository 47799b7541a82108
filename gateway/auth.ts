// Step 1 of the pipeline: who is this operator? Password, public key (signature verified
// against a stored key: rule 1), then keyboard-interactive for the TOTP code and for a
// forced password change. Partial success is bound to the first username (rule 2);
// lockout and LoginLog rows are shared with the web through core/identity.
import ssh2 from 'ssh2';
import type { AuthContext, AuthenticationType, KeyboardAuthContext, PasswordAuthContext, Prompt, PublicKeyAuthContext } from 'ssh2';
import type { Services } from '../core/services.ts';
import type { Logger } from '../core/logger.ts';
import type { User } from '../core/db/entities/index.ts';
import type { LoginContext } from '../core/identity/authentication.ts';
import { DomainError } from '../core/errors.ts';
import { parseLoginTarget, type LoginTarget } from './targetSyntax.ts';

const FIRST_FACTORS: AuthenticationType[] = ['publickey', 'password', 'keyboard-interactive'];
const SECOND_STEP: AuthenticationType[] = ['keyboard-interactive'];
const MAX_PASSWORD_CHANGE_TRIES = 3;

export interface AuthenticatedLogin {
  user: User;
  target: LoginTarget;
  /** e.g. `publickey`, `password+totp`. */
  method: string;
}

interface Progress {
  sshUsername: string;
  target: LoginTarget | null;
  user: User | null;
  firstFactor: string | null;
  totpDone: boolean;
  passwordChanged: boolean;
  /** A LoginLog row was written for this username (attempts, not key queries). */
  logged: boolean;
  /** The client offered at least one key we refused (for the summary row on hang-up). */
  refusedKey: boolean;
}

type Outcome = 'accept' | 'partial' | 'reject';

/** One instance per client connection; feed it every `authentication` event. */
export class ConnectionAuth {
  #progress: Progress | null = null;
  #queue: Promise<void> = Promise.resolve();
  /** Every authentication request so far (none, key offers and queries, passwords, keyboard-interactive). */
  #requests = 0;
  #hungUp = false;
  #login: AuthenticatedLogin | null = null;
  readonly #ctx: LoginContext;

  constructor(
    private readonly services: Services,
    clientAddress: string,
    private readonly log: Logger,
    /** Like OpenSSH's MaxAuthTries, but every request counts, `none` and key offers included. */
    private readonly maxRequests: number,
    private readonly onTooManyRequests: () => void,
  ) {
    this.#ctx = { clientAddress, channel: 'ssh' };
  }

  /** Set once the client is fully authenticated. */
  get login(): AuthenticatedLogin | null {
    return this.#login;
  }

  handle(ctx: AuthContext): void {
    if (++this.#requests > this.maxRequests) {
      // Refused without any work (no lookup, no hash): the cap is what keeps a client from
      // making the gateway check key after key or hash password after password.
      safe(() => ctx.reject([]));
      if (!this.#hungUp) {
        this.#hungUp = true;
        this.onTooManyRequests();
      }
      return;
    }
    // ssh2 may hand over a new request while an async check is running: one at a time.
    this.#queue = this.#queue.then(() => this.#decide(ctx)).catch((err: unknown) => {
      this.log.error({ err }, 'authentication step failed');
      safe(() => ctx.reject(FIRST_FACTORS));
    });
  }

  /** On hang-up before success: one LoginLog row when only key offers were refused. */
  async connectionClosed(): Promise<void> {
    await this.#queue;
    const p = this.#progress;
    if (this.#login || !p || p.logged || !p.refusedKey) return;
    const user = p.target ? await this.services.authentication.findUser(p.target.username) : null;
    await this.services.authentication.fail(p.target?.username ?? p.sshUsername, user, this.#ctx, 'publickey', 'invalid_credentials', false);
  }

  async #decide(ctx: AuthContext): Promise<void> {
    const p = this.#bind(ctx.username);
    let outcome: Outcome;
    switch (ctx.method) {
      case 'password':
        outcome = await this.#password(p, ctx);
        break;
      case 'publickey':
        outcome = await this.#publicKey(p, ctx);
        if (!ctx.signature) return; // a key query was answered ("key acceptable" or not); no attempt
        break;
      case 'keyboard-interactive':
        outcome = await this.#keyboard(p, ctx);
        break;
      default:
        // 'none' asks which methods exist; hostbased is not offered.
        ctx.reject(p.firstFactor ? SECOND_STEP : FIRST_FACTORS, Boolean(p.firstFactor));
        return;
    }
    await this.#conclude(p, ctx, outcome);
  }

  /** Rule 2: progress belongs to one username; another one starts from nothing. */
  #bind(sshUsername: string): Progress {
    const p = this.#progress;
    if (p && p.sshUsername === sshUsername) return p;
    if (p && p.firstFactor) this.log.warn({ from: p.sshUsername, to: sshUsername }, 'username changed during authentication; starting over');
    this.#progress = {
      sshUsername, target: parseLoginTarget(sshUsername), user: null, firstFactor: null,
      totpDone: false, passwordChanged: false, logged: false, refusedKey: false,
    };
    return this.#progress;
  }

  async #conclude(p: Progress, ctx: AuthContext, outcome: Outcome): Promise<void> {
    if (outcome === 'reject') {
      safe(() => ctx.reject(p.firstFactor ? SECOND_STEP : FIRST_FACTORS));
      return;
    }
    if (outcome === 'partial') {
      safe(() => ctx.reject(SECOND_STEP, true));
      return;
    }
    const method = [p.firstFactor, p.totpDone ? 'totp' : null].filter(Boolean).join('+');
    await this.services.authentication.succeed(p.user!, this.#ctx, method);
    this.#login = { user: p.user!, target: p.target!, method };
    this.log.info({ user: p.user!.username, method, target: p.sshUsername }, 'operator authenticated');
    safe(() => ctx.accept());
  }

  /** What the user still owes after the first factor. */
  #pending(p: Progress): 'totp' | 'change' | null {
    if (!p.user) return null;
    if (this.services.authentication.needsTotp(p.user) && !p.totpDone) return 'totp';
    if (p.user.mustChangePassword && !p.passwordChanged) return 'change';
    return null;
  }

  async #password(p: Progress, ctx: PasswordAuthContext): Promise<Outcome> {
    if (p.firstFactor) return 'reject';
    return this.#checkPassword(p, ctx.password, 'password');
  }

  async #checkPassword(p: Progress, password: string, method: string): Promise<Outcome> {
    // A malformed target still costs a full password check, like an unknown user.
    const res = await this.services.authentication.password(p.target?.username ?? p.sshUsername, password, this.#ctx);
    p.logged = true;
    if (!p.target || !res.ok) return 'reject';
    p.user = res.user;
    p.firstFactor = method;
    return this.#pending(p) ? 'partial' : 'accept';
  }

  async #publicKey(p: Progress, ctx: PublicKeyAuthContext): Promise<Outcome> {
    if (p.firstFactor) {
      if (!ctx.signature) safe(() => ctx.reject(SECOND_STEP, true));
      return 'reject';
    }
    const auth = this.services.authentication;
    const user = p.target ? await auth.findUser(p.target.username) : null;
    const stored = user ? await this.services.userKeys.findForUser(user.id, ctx.key.data) : null;
    if (!ctx.signature) {
      // Rule 1: an offer without a signature is only a question. "Acceptable" logs nobody in.
      if (stored) ctx.accept();
      else {
        p.refusedKey = true;
        ctx.reject(FIRST_FACTORS);
      }
      return 'reject';
    }
    p.logged = true;
    if (!user || !stored) {
      // A signature for a key that is not stored is not a password guess: logged, not counted.
      await auth.fail(p.target?.username ?? p.sshUsername, user, this.#ctx, 'publickey', 'invalid_credentials', false);
      return 'reject';
    }
    if (!signatureValid(stored.publicKey, ctx)) {
      await auth.fail(user.username, user, this.#ctx, 'publickey', 'invalid_credentials');
      return 'reject';
    }
    const res = await auth.publicKeyVerified(user, this.#ctx);
    if (!res.ok) return 'reject';
    await this.services.userKeys.touch(stored.id);
    p.user = res.user;
    p.firstFactor = 'publickey';
    return this.#pending(p) ? 'partial' : 'accept';
  }

  /** Keyboard-interactive: the password when it is the first factor, then the TOTP code, then a forced change. */
  async #keyboard(p: Progress, ctx: KeyboardAuthContext): Promise<Outcome> {
    const ask = (prompts: Prompt[], instructions = '') => promptOnce(ctx, prompts, instructions);
    if (!p.firstFactor) {
      const answers = await ask([{ prompt: 'Password: ', echo: false }]);
      if (!answers) return 'reject';
      const outcome = await this.#checkPassword(p, answers[0] ?? '', 'keyboard-interactive');
      if (outcome !== 'partial') return outcome;
    }
    for (let step = this.#pending(p); step; step = this.#pending(p)) {
      if (step === 'totp') {
        const answers = await ask([{ prompt: 'Verification code: ', echo: true }], 'Enter the 6-digit code from your authenticator app.');
        if (!answers) return 'reject';
        const res = await this.services.authentication.totp(p.user!, answers[0] ?? '', this.#ctx);
        p.logged = true;
        if (!res.ok) return 'reject';
        p.user = res.user;
        p.totpDone = true;
      } else if (!(await this.#changePassword(p, ask))) {
        return 'reject';
      }
    }
    return 'accept';
  }

  async #changePassword(p: Progress, ask: (prompts: Prompt[], instructions?: string) => Promise<string[] | null>): Promise<boolean> {
    const user = p.user!;
    let note = 'Your password has expired. You must change it now.';
    for (let i = 0; i < MAX_PASSWORD_CHANGE_TRIES; i++) {
      const answers = await ask([
        { prompt: 'Current password: ', echo: false },
        { prompt: 'New password: ', echo: false },
        { prompt: 'Repeat new password: ', echo: false },
      ], note);
      if (!answers) return false;
      const [current = '', next = '', repeat = ''] = answers;
      // The current password is checked as a login attempt, so it counts toward the lockout.
      const check = await this.services.authentication.password(user.username, current, this.#ctx);
      if (!check.ok) return false;
      if (next !== repeat) {
        note = 'The new passwords do not match. Try again.';
        continue;
      }
      try {
        const actor = { id: user.id, username: user.username, role: user.role, clientAddress: this.#ctx.clientAddress };
        await this.services.users.changeOwnPassword(actor, user.id, current, next);
        p.passwordChanged = true;
        this.log.info({ user: user.username }, 'password changed over ssh');
        return true;
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        note = `${err.message}. Try again.`;
      }
    }
    return false;
  }
}

function signatureValid(storedPublicKey: string, ctx: PublicKeyAuthContext): boolean {
  const parsed = ssh2.utils.parseKey(storedPublicKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error || !ctx.signature || !ctx.blob) return false;
  if (!key.getPublicSSH().equals(ctx.key.data)) return false;
  // verify() may return an Error instead of a boolean: only `true` counts.
  return key.verify(ctx.blob, ctx.signature, ctx.hashAlgo as never) === true;
}

function promptOnce(ctx: KeyboardAuthContext, prompts: Prompt[], instructions: string): Promise<string[] | null> {
  return new Promise((resolve) => {
    const done = (answers: unknown) => resolve(Array.isArray(answers) ? (answers as string[]) : null);
    ctx.once('abort', () => resolve(null));
    ctx.prompt(prompts, 'Bastion', instructions, done);
  });
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    // The client went away in the meantime.
  }
}
