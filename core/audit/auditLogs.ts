import type { DataSource } from 'typeorm';
import { applySearch, paginate, type ListQuery, type Page } from '../db/listing.ts';
import { LoginLogEntity, OperationLogEntity, type LoginLog, type OperationLog } from '../db/entities/index.ts';

export interface LoginLogQuery extends ListQuery {
  username?: string | undefined;
  ok?: boolean | undefined;
  channel?: LoginLog['channel'] | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

export interface OperationLogQuery extends ListQuery {
  actor?: string | undefined;
  resourceType?: string | undefined;
  action?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

/** Read side of the login and operation logs (admins and auditors). */
export class AuditLogService {
  constructor(private readonly ds: DataSource) {}

  logins(q: LoginLogQuery): Promise<Page<LoginLog>> {
    const qb = this.ds.getRepository(LoginLogEntity).createQueryBuilder('l').orderBy('l.created_at', 'DESC');
    applySearch(qb, ['l.username', 'l.client_address', 'l.reason'], q.search);
    if (q.username) qb.andWhere('l.username = :username', { username: q.username });
    if (q.ok !== undefined) qb.andWhere('l.ok = :ok', { ok: q.ok });
    if (q.channel) qb.andWhere('l.channel = :channel', { channel: q.channel });
    if (q.from) qb.andWhere('l.created_at >= :from', { from: q.from.getTime() });
    if (q.to) qb.andWhere('l.created_at < :to', { to: q.to.getTime() });
    return paginate(qb, q);
  }

  operations(q: OperationLogQuery): Promise<Page<OperationLog>> {
    const qb = this.ds.getRepository(OperationLogEntity).createQueryBuilder('o').orderBy('o.created_at', 'DESC');
    applySearch(qb, ['o.actor_username', 'o.resource_name', 'o.resource_type', 'o.action'], q.search);
    if (q.actor) qb.andWhere('o.actor_username = :actor', { actor: q.actor });
    if (q.resourceType) qb.andWhere('o.resource_type = :rt', { rt: q.resourceType });
    if (q.action) qb.andWhere('o.action = :action', { action: q.action });
    if (q.from) qb.andWhere('o.created_at >= :from', { from: q.from.getTime() });
    if (q.to) qb.andWhere('o.created_at < :to', { to: q.to.getTime() });
    return paginate(qb, q);
  }
}
