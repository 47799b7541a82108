import type { DataSource } from 'typeorm';
import { newId } from './ids.ts';
import { NodeEntity, SettingEntity, UserEntity } from './db/entities/index.ts';
import { ROOT_NODE_NAME } from './assets/nodes.ts';
import { hashPassword } from './identity/passwordHash.ts';
import type { Secret } from './vault/secret.ts';
import { VaultKeyError, type Vault } from './vault/vault.ts';

const CANARY_KEY = 'vault.canary';

export interface BootstrapResult {
  firstStart: boolean;
  adminPasswordIsDefault: boolean;
}

/**
 * Refuses a SECRET_KEY that cannot open what is sealed already, then seeds what a first
 * start needs: the admin user and the root node.
 */
export async function bootstrap(ds: DataSource, vault: Vault, adminPassword: Secret<string> | undefined): Promise<BootstrapResult> {
  const settings = ds.getRepository(SettingEntity);
  const canary = await settings.findOneBy({ key: CANARY_KEY });
  if (canary && !vault.checkCanary(canary.value)) {
    throw new VaultKeyError('SECRET_KEY cannot open the secrets sealed in this database; start with the key it was created with');
  }
  if (!canary) {
    const sealed = await ds.query(`SELECT
      (SELECT COUNT(*) FROM system_user WHERE password IS NOT NULL OR private_key IS NOT NULL) +
      (SELECT COUNT(*) FROM admin_user WHERE password IS NOT NULL OR private_key IS NOT NULL) +
      (SELECT COUNT(*) FROM "user" WHERE totp_secret IS NOT NULL) AS n`) as [{ n: number | string }];
    if (Number(sealed[0].n) > 0) throw new VaultKeyError('sealed secrets exist but the vault check is missing; refusing to guess the key');
    await settings.insert({ key: CANARY_KEY, value: vault.makeCanary() });
  }
  if (!(await ds.getRepository(NodeEntity).createQueryBuilder('n').where('n.parent_id IS NULL').getExists())) {
    await ds.getRepository(NodeEntity).insert({ id: newId(), name: ROOT_NODE_NAME, parentId: null, createdAt: new Date() });
  }
  const users = ds.getRepository(UserEntity);
  if (await users.count() > 0) return { firstStart: false, adminPasswordIsDefault: false };
  const now = new Date();
  await users.insert({
    id: newId(), username: 'admin', name: 'Administrator', email: null, role: 'admin',
    passwordHash: await hashPassword(adminPassword ? adminPassword.reveal() : 'admin'),
    mustChangePassword: !adminPassword, totpSecret: null, totpEnabled: false, totpLastStep: null, active: true, expiresAt: null,
    lockedUntil: null, lastLoginAt: null, comment: 'created at first start', createdAt: now, updatedAt: now,
  });
  return { firstStart: true, adminPasswordIsDefault: !adminPassword };
}
