import type { NamedCommandFilter } from '../../core/access/commandFilters.ts';
import type { ConfirmationRequest } from '../../core/audit/commandConfirmations.ts';
import { iso } from './identity.ts';

export function presentCommandFilter(f: NamedCommandFilter) {
  return {
    id: f.id, name: f.name, kind: f.kind, pattern: f.pattern, action: f.action, priority: f.priority, active: f.active,
    users: f.users, userGroups: f.userGroups, assets: f.assets, nodes: f.nodes, systemUsers: f.systemUsers,
    comment: f.comment, createdAt: iso(f.createdAt), updatedAt: iso(f.updatedAt),
  };
}

export function presentConfirmation(c: ConfirmationRequest) {
  return {
    id: c.id, sessionId: c.sessionId, jobId: c.jobId, userId: c.userId ?? null, username: c.username, assetName: c.assetName, systemUsername: c.systemUsername,
    command: c.command, filter: c.filter, createdAt: iso(c.createdAt), expiresAt: iso(c.expiresAt),
  };
}
