import type { EntityManager } from 'typeorm';
import type { Actor } from '../actor.ts';
import { newId } from '../ids.ts';
import { OperationLogEntity } from '../db/entities/index.ts';

const SECRET_FIELDS = new Set(['password', 'privateKey', 'passwordHash', 'totpSecret', 'token', 'tokenHash', 'secret', 'oldPassword', 'newPassword', 'code', 'totp']);

/** Copies a change set with every secret field replaced, recursively, so no log ever holds one. */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELDS.has(k) ? (v == null ? v : '<redacted>') : redact(v);
    return out;
  }
  return value;
}

export interface OperationEntry {
  action: 'create' | 'update' | 'delete' | 'lock' | 'unlock' | 'reset_mfa' | 'reset_password' | 'terminate' | 'clear_host_key' | 'run' | string;
  resourceType: string;
  resourceId: string | null;
  resourceName: string;
  changes?: Record<string, unknown>;
}

/** Written with the caller's entity manager, inside the same transaction as the change it describes. */
export async function writeOperation(em: EntityManager, actor: Actor, entry: OperationEntry): Promise<void> {
  await em.getRepository(OperationLogEntity).insert({
    id: newId(),
    actorId: actor.id,
    actorUsername: actor.username,
    action: entry.action,
    resourceType: entry.resourceType,
    resourceId: entry.resourceId,
    resourceName: entry.resourceName.slice(0, 255),
    changes: redact(entry.changes ?? {}) as never,
    clientAddress: actor.clientAddress,
    createdAt: new Date(),
  });
}
