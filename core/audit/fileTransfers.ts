import type { DataSource } from 'typeorm';
import { newId } from '../ids.ts';
import { isDatabaseUnavailable } from '../db/databaseFaults.ts';
import type { AuditJournal } from './auditJournal.ts';
import { applySearch, paginate, type ListQuery, type Page } from '../db/listing.ts';
import { FileTransferEntity, type FileTransfer, type Session } from '../db/entities/index.ts';

export interface FileTransferQuery extends ListQuery {
  user?: string | undefined;
  asset?: string | undefined;
  session?: string | undefined;
  /** Rows of any of these sessions (a session and those folded under it). */
  sessions?: readonly string[] | undefined;
  operation?: FileTransfer['operation'] | undefined;
  ok?: boolean | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

/** Uploads, downloads, deletes and renames through the gateway, allowed or refused. */
export class FileTransferService {
  /** `journal` keeps the rows the database cannot take during an outage (issue 12 item 10). */
  constructor(private readonly ds: DataSource, private readonly journal?: AuditJournal) {}

  async record(session: Pick<Session, 'id' | 'userId' | 'username' | 'assetId' | 'assetName' | 'systemUsername'>, entry: { operation: FileTransfer['operation']; path: string; targetPath?: string | null; size?: number; ok: boolean; message?: string }): Promise<void> {
    const row: FileTransfer = {
      id: newId(), sessionId: session.id, userId: session.userId, username: session.username, assetId: session.assetId,
      assetName: session.assetName, systemUsername: session.systemUsername, operation: entry.operation,
      path: entry.path.slice(0, 4096), targetPath: entry.targetPath?.slice(0, 4096) ?? null, size: entry.size ?? 0,
      ok: entry.ok, message: (entry.message ?? '').slice(0, 1000), createdAt: new Date(),
    };
    try {
      await this.ds.getRepository(FileTransferEntity).insert(row);
    } catch (err) {
      if (!this.journal || !isDatabaseUnavailable(err)) throw err;
      // Kept on disk with its id and time, written once when the database is back.
      this.journal.append({ t: 'rows', table: 'file_transfer', rows: [row as unknown as Record<string, unknown>] });
    }
  }

  /** How many transfer rows each of these sessions holds (one query for a page of sessions). */
  async countBySession(sessionIds: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (sessionIds.length === 0) return out;
    const rows = await this.ds.getRepository(FileTransferEntity).createQueryBuilder('f')
      .select('f.session_id', 'sid').addSelect('COUNT(*)', 'n')
      .where('f.session_id IN (:...ids)', { ids: sessionIds }).groupBy('f.session_id')
      .getRawMany<{ sid: string; n: number | string }>();
    for (const r of rows) out.set(r.sid, Number(r.n));
    return out;
  }

  list(q: FileTransferQuery): Promise<Page<FileTransfer>> {
    const qb = this.ds.getRepository(FileTransferEntity).createQueryBuilder('f').orderBy('f.created_at', 'DESC').addOrderBy('f.id', 'ASC');
    applySearch(qb, ['f.path', 'f.username', 'f.asset_name'], q.search);
    if (q.user) qb.andWhere('(f.username = :user OR f.user_id = :user)', { user: q.user });
    if (q.asset) qb.andWhere('(f.asset_name = :asset OR f.asset_id = :asset)', { asset: q.asset });
    if (q.session) qb.andWhere('f.session_id = :session', { session: q.session });
    if (q.sessions) qb.andWhere(q.sessions.length ? 'f.session_id IN (:...sessions)' : '1 = 0', { sessions: q.sessions });
    if (q.operation) qb.andWhere('f.operation = :op', { op: q.operation });
    if (q.ok !== undefined) qb.andWhere('f.ok = :ok', { ok: q.ok });
    if (q.from) qb.andWhere('f.created_at >= :from', { from: q.from.getTime() });
    if (q.to) qb.andWhere('f.created_at < :to', { to: q.to.getTime() });
    return paginate(qb, q);
  }
}
