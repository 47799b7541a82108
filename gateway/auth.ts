// Step 1 of the pipeline: who is this operator? The SSH edge of the one login state machine
// (core/identity/loginFlow.ts, driven by the web route too): this file only speaks ssh2 —
// it verifies public-key signatures (rule 1), turns the flow's steps into keyboard-interactive
// prompts (TOTP, forced password change) and binds partial success to one username (rule 2).
// Throttling, lockout and LoginLog rows live in core/identity.
import ssh2 from 'ssh2';
import type { AuthContext, AuthenticationType, KeyboardAuthContext, PasswordAuthContext, Prompt, PublicKeyAuthContext } from 'ssh2';
import type { Services } from '../core/services.ts';
import type { Logger } from '../core/logger.ts';
import type { User } from '../core/db/entities/index.ts';
import { LOGIN_MESSAGES, type LoginContext } from '../core/identity/authentication.ts';
import { LoginFlow, type Advance } from '../core/identity/loginFlow.ts';
import { parseLoginTarget, type LoginTarget } from './targetSyntax.ts';
import { isDatabaseUnavailable } from '../core/db/databaseFaults.ts';
import { connectionLimitLine } from '../core/audit/sshConnections.ts';

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
  flow: LoginFlow;
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
  /** This connection's slot among the user's logged-in connections (BASTION_MAX_CONNECTIONS_PER_USER). */
  #lease: string | null = null;
  readonly #ctx: LoginContext;

  constructor(
    private readonly services: Services,
    clientAddress: string,
    private readonly log: Logger,
    /** Like OpenSSH's MaxAuthTries, but every request counts, `none` and key offers included. */
    private readonly maxRequests: number,
    private readonly onTooManyRequests: () => void,
    /** The database could not be reached while deciding: the connection says so and ends. */
    private readonly onDatabaseUnavailable: () => void = () => undefined,
    /** The user already holds BASTION_MAX_CONNECTIONS_PER_USER connections: the connection prints `line` and ends. */
    private readonly onConnectionLimit: (line: string) => void = () => undefined,
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
      // making the gateway check key after key or hash password after password. The first one
      // over is answered by the hang-up alone, as sshd does: its reason is what the client
      // shows, and a failure sent before it would have the client give up on that instead.
      if (this.#hungUp) safe(() => ctx.reject([]));
      else {
        this.#hungUp = true;
        this.onTooManyRequests();
      }
      return;
    }
    // ssh2 may hand over a new request while an async check is running: one at a time.
    this.#queue = this.#queue.then(() => this.#decide(ctx)).catch((err: unknown) => {
      if (isDatabaseUnavailable(err)) {
        // Not "Permission denied": the operator is told what is wrong (issue 12 item 10).
        this.log.warn({ err: { message: (err as Error).message } }, 'authentication impossible: the database does not answer');
        // An attempt (not a `none` probe or a key query) keeps its LoginLog row in the journal.
        if (ctx.method === 'password' || ctx.method === 'keyboard-interactive' || (ctx.method === 'publickey' && ctx.signature)) {
          try {
            this.services.authentication.unavailable(parseLoginTarget(ctx.username)?.username ?? ctx.username, this.#ctx, ctx.method);
          } catch (journalErr) {
            this.log.error({ err: journalErr }, 'the login-log row could not be journaled');
          }
        }
        this.onDatabaseUnavailable();
        safe(() => ctx.reject([]));
        return;
      }
      this.log.error({ err }, 'authentication step failed');
      safe(() => ctx.reject(FIRST_FACTORS));
    });
  }

  /** On hang-up: the connection's slot is given back; before success, one LoginLog row when only key offers were refused. */
  async connectionClosed(): Promise<void> {
    await this.#queue;
    if (this.#lease) await this.services.sshConnections.release(this.#lease);
    const p = this.#progress;
    if (this.#login || !p || p.logged || !p.refusedKey) return;
    const user = p.target ? await this.services.authentication.findUser(p.target.username) : null;
    await this.services.authentication.fail(p.target?.username ?? p.sshUsername, user, this.#ctx, 'publickey', 'invalid_credentials');
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
        ctx.reject(p.flow.next() === 'first_factor' ? FIRST_FACTORS : SECOND_STEP, p.flow.next() !== 'first_factor');
        return;
    }
    await this.#conclude(p, ctx, outcome);
  }

  /** Rule 2: progress belongs to one username; another one starts from nothing. */
  #bind(sshUsername: string): Progress {
    const p = this.#progress;
    if (p && p.sshUsername === sshUsername) return p;
    if (p && p.flow.next() !== 'first_factor') this.log.warn({ from: p.sshUsername, to: sshUsername }, 'username changed during authentication; starting over');
    const target = parseLoginTarget(sshUsername);
    // A malformed target still goes through the flow (and costs a full password check), like an unknown user.
    const flow = new LoginFlow(this.services.authentication, this.services.users, target?.username ?? sshUsername, this.#ctx);
    this.#progress = { sshUsername, target, flow, logged: false, refusedKey: false };
    return this.#progress;
  }

  async #conclude(p: Progress, ctx: AuthContext, outcome: Outcome): Promise<void> {
    if (outcome === 'reject' || (outcome === 'accept' && !p.target)) {
      safe(() => ctx.reject(p.flow.next() === 'first_factor' ? FIRST_FACTORS : SECOND_STEP));
      return;
    }
    if (outcome === 'partial') {
      safe(() => ctx.reject(SECOND_STEP, true));
      return;
    }
    // Counted before the login completes: a refused connection is no login (no success row, no Session row).
    const max = this.services.config.maxConnectionsPerUser;
    const lease = await this.services.sshConnections.take(p.flow.user!.id, this.#ctx.clientAddress, max);
    if (lease === null) {
      const user = p.flow.user!;
      this.log.warn({ user: user.username, limit: max }, 'login refused: too many SSH connections for this user');
      // The login log says why (fail() counts towards no lock: the credentials were right).
      await this.services.authentication.fail(user.username, user, this.#ctx, p.flow.method, 'connection_limit');
      // Not answered: the connection ends after the line, so that the client prints no "Permission denied" after it.
      this.onConnectionLimit(connectionLimitLine(max));
      return;
    }
    this.#lease = lease;
    const user = await p.flow.complete();
    this.#login = { user, target: p.target!, method: p.flow.method };
    this.log.info({ user: user.username, method: p.flow.method, target: p.sshUsername }, 'operator authenticated');
    safe(() => ctx.accept());
  }

  /** The flow's answer to a first factor, as an ssh2 outcome. */
  #after(p: Progress, res: Advance): Outcome {
    p.logged = true;
    if (!res.ok || !p.target) return 'reject';
    return res.next === 'done' ? 'accept' : 'partial';
  }

  async #password(p: Progress, ctx: PasswordAuthContext): Promise<Outcome> {
    if (p.flow.next() !== 'first_factor') return 'reject';
    return this.#after(p, await p.flow.password(ctx.password, 'password'));
  }

  async #publicKey(p: Progress, ctx: PublicKeyAuthContext): Promise<Outcome> {
    if (p.flow.next() !== 'first_factor') {
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
    if (!user || !stored || !signatureValid(stored.publicKey, ctx)) {
      // A key signature is not a guessable secret: logged, not counted towards any lock.
      await auth.fail(p.target?.username ?? p.sshUsername, user, this.#ctx, 'publickey', 'invalid_credentials');
      return 'reject';
    }
    const res = await p.flow.publicKey(user);
    if (res.ok) await this.services.userKeys.touch(stored.id);
    return this.#after(p, res);
  }

  /** Keyboard-interactive: the password when it is the first factor, then each step the flow still asks for. */
  async #keyboard(p: Progress, ctx: KeyboardAuthContext): Promise<Outcome> {
    const ask = (prompts: Prompt[], instructions = '') => promptOnce(ctx, prompts, instructions);
    if (p.flow.next() === 'first_factor') {
      const answers = await ask([{ prompt: 'Password: ', echo: false }]);
      if (!answers) return 'reject';
      const outcome = this.#after(p, await p.flow.password(answers[0] ?? '', 'keyboard-interactive'));
      if (outcome !== 'partial') return outcome;
    }
    for (let step = p.flow.next(); step !== 'done'; step = p.flow.next()) {
      if (step === 'totp') {
        if (!(await this.#totp(p, ask))) return 'reject';
      } else if (step === 'enrol_mfa') {
        // Refused with the reason on the operator's screen (OpenSSH prints the instructions of a
        // prompt with no questions), and a LoginLog row saying why.
        await p.flow.refuseForEnrolment();
        await ask([], `${LOGIN_MESSAGES.mfa_enrolment_required}.`);
        return 'reject';
      } else if (step === 'change_password') {
        if (!(await this.#changePassword(p, ask))) return 'reject';
      } else {
        return 'reject';
      }
    }
    return 'accept';
  }

  /** The code (or a recovery code); a code just used is asked again once, with a hint to wait for the next one. */
  async #totp(p: Progress, ask: (prompts: Prompt[], instructions?: string) => Promise<string[] | null>): Promise<boolean> {
    let note = 'Enter the 6-digit code from your authenticator app, or one of your recovery codes.';
    for (let i = 0; i < 2; i++) {
      const answers = await ask([{ prompt: 'Verification code: ', echo: true }], note);
      if (!answers) return false;
      const res = await p.flow.totp(answers[0] ?? '');
      if (res.ok) return true;
      if (res.failure !== 'totp_reused') return false;
      note = `${LOGIN_MESSAGES.totp_reused}.`;
    }
    return false;
  }

  async #changePassword(p: Progress, ask: (prompts: Prompt[], instructions?: string) => Promise<string[] | null>): Promise<boolean> {
    let note = 'Your password has expired. You must change it now.';
    for (let i = 0; i < MAX_PASSWORD_CHANGE_TRIES; i++) {
      const answers = await ask([
        { prompt: 'Current password: ', echo: false },
        { prompt: 'New password: ', echo: false },
        { prompt: 'Repeat new password: ', echo: false },
      ], note);
      if (!answers) return false;
      const [current = '', next = '', repeat = ''] = answers;
      if (next !== repeat) {
        note = 'The new passwords do not match. Try again.';
        continue;
      }
      const res = await p.flow.changePassword(current, next);
      if (res.ok) {
        this.log.info({ user: p.flow.user?.username }, 'password changed over ssh');
        return true;
      }
      if (!('retry' in res)) return false;
      note = `${res.retry}. Try again.`;
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
