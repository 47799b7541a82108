import type { DataSource } from 'typeorm';
import type { Actor } from '../actor.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { RecoveryCodeEntity, UserEntity } from '../db/entities/index.ts';
import type { Vault } from '../vault/vault.ts';
import { writeOperation } from '../audit/operationLog.ts';
import { generateTotpSecret, totpStep, totpUri } from './totp.ts';
import { issueRecoveryCodes, unusedRecoveryCodes } from './recoveryCodes.ts';
import type { MfaPolicyService } from './mfaPolicy.ts';

/**
 * Enrolment in two steps: a pending secret, then a code proving the authenticator has it, which
 * also issues the ten recovery codes. Disabling is the user's own choice (the route re-checks the
 * password first), unless their role requires MFA.
 */
export class TotpEnrolmentService {
  constructor(private readonly ds: DataSource, private readonly vault: Vault, private readonly policy: MfaPolicyService) {}

  async start(userId: string): Promise<{ secret: string; uri: string }> {
    const user = await this.ds.getRepository(UserEntity).findOneBy({ id: userId });
    if (!user) throw new NotFoundError('user not found', { reason: 'user_not_found' });
    if (user.totpEnabled) throw new ConflictError('two-factor authentication is already enabled', { reason: 'mfa_already_enabled' });
    const secret = generateTotpSecret();
    await this.ds.getRepository(UserEntity).update({ id: userId }, { totpSecret: this.vault.seal(secret), totpLastStep: null, updatedAt: new Date() });
    return { secret, uri: totpUri(secret, user.username) };
  }

  async confirm(actor: Actor, userId: string, code: string): Promise<{ recoveryCodes: string[] }> {
    const user = await this.ds.getRepository(UserEntity).findOneBy({ id: userId });
    if (!user) throw new NotFoundError('user not found', { reason: 'user_not_found' });
    if (user.totpEnabled) throw new ConflictError('two-factor authentication is already enabled', { reason: 'mfa_already_enabled' });
    if (!user.totpSecret) throw new ValidationError('start the enrolment first', { field: 'code', reason: 'mfa_not_started' });
    const step = totpStep(this.vault.open(user.totpSecret).reveal(), code);
    if (step === null) throw new ValidationError('invalid one-time code', { field: 'code', reason: 'invalid_totp' });
    return this.ds.transaction(async (em) => {
      // The enrolment code counts as used: it cannot log in a second time.
      await em.getRepository(UserEntity).update({ id: userId }, { totpEnabled: true, totpLastStep: step, updatedAt: new Date() });
      await writeOperation(em, actor, { action: 'enable_mfa', resourceType: 'user', resourceId: userId, resourceName: user.username });
      return { recoveryCodes: await issueRecoveryCodes(em, this.vault, userId) };
    });
  }

  /** Whether MFA is on, how many recovery codes are left, and whether the role requires it. */
  async status(userId: string): Promise<{ enabled: boolean; recoveryCodesLeft: number; requiredByRole: boolean }> {
    const user = await this.ds.getRepository(UserEntity).findOneBy({ id: userId });
    if (!user) throw new NotFoundError('user not found', { reason: 'user_not_found' });
    const policy = await this.policy.get();
    return { enabled: user.totpEnabled, recoveryCodesLeft: user.totpEnabled ? await unusedRecoveryCodes(this.ds.manager, userId) : 0, requiredByRole: policy[user.role] };
  }

  /** New recovery codes replace the old ones (the caller has re-checked the password). */
  async renewRecoveryCodes(actor: Actor, userId: string): Promise<{ recoveryCodes: string[] }> {
    const user = await this.ds.getRepository(UserEntity).findOneBy({ id: userId });
    if (!user) throw new NotFoundError('user not found', { reason: 'user_not_found' });
    if (!user.totpEnabled) throw new ConflictError('two-factor authentication is not enabled', { reason: 'mfa_not_enabled' });
    return this.ds.transaction(async (em) => {
      await writeOperation(em, actor, { action: 'renew_recovery_codes', resourceType: 'user', resourceId: userId, resourceName: user.username });
      return { recoveryCodes: await issueRecoveryCodes(em, this.vault, userId) };
    });
  }

  /** Self-service disable (the caller has re-checked the password); refused when the role requires MFA. */
  async disable(actor: Actor, userId: string): Promise<void> {
    const user = await this.ds.getRepository(UserEntity).findOneBy({ id: userId });
    if (!user) throw new NotFoundError('user not found', { reason: 'user_not_found' });
    if (!user.totpEnabled) throw new ConflictError('two-factor authentication is not enabled', { reason: 'mfa_not_enabled' });
    if ((await this.policy.get())[user.role]) throw new ConflictError('your role requires two-factor authentication', { reason: 'mfa_required_by_role' });
    await this.ds.transaction(async (em) => {
      await em.getRepository(UserEntity).update({ id: userId }, { totpSecret: null, totpEnabled: false, totpLastStep: null, updatedAt: new Date() });
      await em.getRepository(RecoveryCodeEntity).delete({ userId });
      await writeOperation(em, actor, { action: 'disable_mfa', resourceType: 'user', resourceId: userId, resourceName: user.username });
    });
  }
}
