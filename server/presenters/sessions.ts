import type { CommandRecord, Session } from '../../core/db/entities/index.ts';
import { iso } from './identity.ts';
import { isTransferOnly } from '../../core/audit/transferFolding.ts';

/** A session as auditors see it. The recording is offered as its API URL, never as a file path. */
/**
 * `transfers`: how many file-transfer rows the session holds; `transferOnly`: it only moved files
 * (sftp, or scp/rsync over exec), so it has no commands and no screen to play
 * (core/audit/transferFolding.ts).
 */
export function presentSession(s: Session, transfers = 0) {
  return {
    id: s.id,
    user: { id: s.userId, username: s.username },
    asset: { id: s.assetId, name: s.assetName },
    systemUser: { id: s.systemUserId, username: s.systemUsername },
    kind: s.kind,
    channel: s.channel,
    clientAddress: s.clientAddress,
    status: s.status,
    active: s.status === 'active',
    startedAt: iso(s.startedAt),
    endedAt: iso(s.endedAt),
    bytesIn: s.bytesIn,
    bytesOut: s.bytesOut,
    exitStatus: s.exitStatus,
    exitSignal: s.exitSignal,
    endReason: s.endReason,
    terminatedBy: s.terminatedBy,
    recordingUrl: s.recording ? `/api/v1/sessions/${s.id}/recording` : null,
    recordingIncomplete: s.recordingIncomplete,
    transfers,
    transferOnly: isTransferOnly(s, transfers),
  };
}

export function presentCommand(c: CommandRecord) {
  return {
    id: c.id,
    session: c.sessionId,
    user: { id: c.userId, username: c.username },
    asset: { id: c.assetId, name: c.assetName },
    systemUser: { username: c.systemUsername },
    input: c.input,
    output: c.output,
    risk: c.risk,
    notEchoed: c.notEchoed,
    offsetMs: c.offsetMs,
    createdAt: iso(c.createdAt),
  };
}
