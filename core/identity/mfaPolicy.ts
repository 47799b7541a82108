import type { DataSource } from 'typeorm';
import type { Actor } from '../actor.ts';
import { ROLES, SettingEntity, type Role, type User } from '../db/entities/index.ts';
import { writeOperation } from '../audit/operationLog.ts';

const KEY = 'mfa_required_roles';

export type MfaPolicy = Record<Role, boolean>;

/**
 * Which roles must log in with a second factor. Read from the database on every decision (one
 * row by primary key), so a change made through any server reaches every gateway at the next login.
 */
export class MfaPolicyService {
  #listeners = new Set<() => void>();

  constructor(private readonly ds: DataSource) {}

  /** Called after the policy changed: a role newly requiring MFA concerns sockets already open. */
  onChange(fn: () => void): void {
    this.#listeners.add(fn);
  }

  async get(): Promise<MfaPolicy> {
    const row = await this.ds.getRepository(SettingEntity).findOneBy({ key: KEY });
    let roles: unknown = [];
    try { roles = row ? JSON.parse(row.value) : []; } catch { roles = []; }
    const list = Array.isArray(roles) ? roles : [];
    return Object.fromEntries(ROLES.map((r) => [r, list.includes(r)])) as MfaPolicy;
  }

  async set(actor: Actor, policy: Partial<MfaPolicy>): Promise<MfaPolicy> {
    const before = await this.get();
    const next = { ...before, ...policy };
    const changed = ROLES.filter((r) => before[r] !== next[r]);
    if (changed.length === 0) return next;
    await this.ds.transaction(async (em) => {
      await em.getRepository(SettingEntity).save({ key: KEY, value: JSON.stringify(ROLES.filter((r) => next[r])) });
      await writeOperation(em, actor, {
        action: 'update', resourceType: 'mfa_policy', resourceId: null, resourceName: 'MFA',
        changes: Object.fromEntries(changed.map((r) => [r, { from: before[r], to: next[r] }])),
      });
    });
    for (const fn of this.#listeners) fn();
    return next;
  }

  /** The user must enrol before doing anything: the role requires MFA and no authenticator is set up. */
  async enrolmentRequired(user: User): Promise<boolean> {
    if (user.totpEnabled && user.totpSecret) return false;
    return (await this.get())[user.role] === true;
  }
}
