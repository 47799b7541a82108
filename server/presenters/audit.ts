import type { FileTransfer, LoginLog, OperationLog } from '../../core/db/entities/index.ts';
import { iso } from './identity.ts';

export function presentLoginLog(l: LoginLog) {
  return { id: l.id, username: l.username, userId: l.userId, clientAddress: l.clientAddress, channel: l.channel, method: l.method, ok: l.ok, reason: l.reason, createdAt: iso(l.createdAt) };
}

export function presentOperationLog(o: OperationLog) {
  return {
    id: o.id, actor: { id: o.actorId, username: o.actorUsername }, action: o.action, resourceType: o.resourceType,
    resourceId: o.resourceId, resourceName: o.resourceName, changes: o.changes, clientAddress: o.clientAddress, createdAt: iso(o.createdAt),
  };
}

export function presentFileTransfer(f: FileTransfer) {
  return {
    id: f.id, sessionId: f.sessionId, user: { id: f.userId, username: f.username }, asset: { id: f.assetId, name: f.assetName },
    systemUsername: f.systemUsername, operation: f.operation, path: f.path, targetPath: f.targetPath, size: f.size, ok: f.ok,
    message: f.message, createdAt: iso(f.createdAt),
  };
}
