import type { Permission } from '../../core/db/entities/index.ts';
import { iso } from './identity.ts';

const ref = (x: { id: string; name?: string; username?: string }) => ({ id: x.id, name: x.name ?? x.username ?? '' });

export function presentPermission(p: Permission) {
  return {
    id: p.id,
    name: p.name,
    actions: p.actions,
    validFrom: iso(p.validFrom),
    validTo: iso(p.validTo),
    active: p.active,
    comment: p.comment,
    users: (p.users ?? []).map((u) => ({ id: u.id, name: u.username })),
    userGroups: (p.userGroups ?? []).map(ref),
    assets: (p.assets ?? []).map(ref),
    nodes: (p.nodes ?? []).map(ref),
    systemUsers: (p.systemUsers ?? []).map(ref),
    createdAt: iso(p.createdAt),
    updatedAt: iso(p.updatedAt),
  };
}
