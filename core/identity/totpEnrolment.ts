import type { DataSource } from 'typeorm';
import type { Actor } from '../actor.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { UserEntity } from '../db/entities/index.ts';
import type { Vault } from '../vault/vault.ts';
import { writeOperation } from '../audit/operationLog.ts';
import { generateTotpSecret, totpStep, totpUri } from './totp.ts';

/** Enrolment in two steps: a pending secret, then a code proving the authenticator has it. */
export class TotpEnrolmentService {
  constructor(private readonly ds: DataSource, private readonly vault: Vault) {}

  async start(userId: string): Promise<{ secret: string; uri: string }> {
    const user = await this.ds.getRepository(UserEntity).findOneBy({ id: userId });
    if (!user) throw new NotFoundError('user not found');
    if (user.totpEnabled) throw new ConflictError('two-factor authentication is already enabled');
    const secret = generateTotpSecret();
    await this.ds.getRepository(UserEntity).update({ id: userId }, { totpSecret: this.vault.seal(secret), totpLastStep: null, updatedAt: new Date() });
    return { secret, uri: totpUri(secret, user.username) };
  }

  async confirm(actor: Actor, userId: string, code: string): Promise<void> {
    const user = await this.ds.getRepository(UserEntity).findOneBy({ id: userId });
    if (!user) throw new NotFoundError('user not found');
    if (user.totpEnabled) throw new ConflictError('two-factor authentication is already enabled');
    if (!user.totpSecret) throw new ValidationError('start the enrolment first', { field: 'code' });
    const step = totpStep(this.vault.open(user.totpSecret).reveal(), code);
    if (step === null) throw new ValidationError('invalid one-time code', { field: 'code' });
    await this.ds.transaction(async (em) => {
      // The enrolment code counts as used: it cannot log in a second time.
      await em.getRepository(UserEntity).update({ id: userId }, { totpEnabled: true, totpLastStep: step, updatedAt: new Date() });
      await writeOperation(em, actor, { action: 'enable_mfa', resourceType: 'user', resourceId: userId, resourceName: user.username });
    });
  }
}
