import type { DataSource } from 'typeorm';
import type { RetentionService } from './retention.ts';
import { sqlParam } from '../db/sqlParam.ts';

export interface Dashboard {
  counts: { users: number; assets: number; onlineSessions: number; loginsToday: number; failedLoginsToday: number };
  perDay: { day: string; logins: number; failedLogins: number; sessions: number }[];
  topAssets: { name: string; sessions: number }[];
  topUsers: { username: string; sessions: number }[];
  recentFailedLogins: { username: string; clientAddress: string; channel: string; reason: string; at: string }[];
  recordings: { bytes: number; files: number };
}

const DAY = 86_400_000;

/** The figures of the dashboard, computed in the database over the last 7 days (UTC days). */
export class DashboardService {
  constructor(private readonly ds: DataSource, private readonly retention: RetentionService) {}

  async get(now = Date.now()): Promise<Dashboard> {
    const today = Math.floor(now / DAY) * DAY;
    const since = today - 6 * DAY;
    const p = (n: number) => sqlParam(this.ds, n);
    const q = async <T>(sql: string, params: unknown[] = []) => (await this.ds.query(sql, params)) as T[];
    const one = async (sql: string, params: unknown[] = []) => Number((await q<{ n: number | string }>(sql, params))[0]?.n ?? 0);
    const dayExpr = (col: string) => `(${col} / ${DAY}) * ${DAY}`;
    const [users, assets, online, loginsToday, failedToday] = await Promise.all([
      one('SELECT COUNT(*) AS n FROM "user"'),
      one('SELECT COUNT(*) AS n FROM asset'),
      one("SELECT COUNT(*) AS n FROM session WHERE status = 'active'"),
      one(`SELECT COUNT(*) AS n FROM login_log WHERE ok = ${p(1)} AND created_at >= ${p(2)}`, [true, today]),
      one(`SELECT COUNT(*) AS n FROM login_log WHERE ok = ${p(1)} AND created_at >= ${p(2)}`, [false, today]),
    ]);
    const loginRows = await q<{ day: string | number; ok: unknown; n: string | number }>(
      `SELECT ${dayExpr('created_at')} AS day, ok, COUNT(*) AS n FROM login_log WHERE created_at >= ${p(1)} GROUP BY ${dayExpr('created_at')}, ok`, [since]);
    const sessionRows = await q<{ day: string | number; n: string | number }>(
      `SELECT ${dayExpr('started_at')} AS day, COUNT(*) AS n FROM session WHERE started_at >= ${p(1)} GROUP BY ${dayExpr('started_at')}`, [since]);
    const perDay = Array.from({ length: 7 }, (_, i) => ({ day: new Date(since + i * DAY).toISOString().slice(0, 10), logins: 0, failedLogins: 0, sessions: 0 }));
    const slot = (d: string | number) => perDay[Math.round((Number(d) - since) / DAY)];
    for (const r of loginRows) {
      const s = slot(r.day);
      if (!s) continue;
      const ok = r.ok === true || r.ok === 1 || r.ok === '1';
      if (ok) s.logins += Number(r.n);
      else s.failedLogins += Number(r.n);
    }
    for (const r of sessionRows) { const s = slot(r.day); if (s) s.sessions += Number(r.n); }
    const topAssets = (await q<{ name: string; n: string | number }>(
      `SELECT asset_name AS name, COUNT(*) AS n FROM session WHERE started_at >= ${p(1)} GROUP BY asset_name ORDER BY n DESC LIMIT 5`, [since])).map((r) => ({ name: r.name, sessions: Number(r.n) }));
    const topUsers = (await q<{ username: string; n: string | number }>(
      `SELECT username, COUNT(*) AS n FROM session WHERE started_at >= ${p(1)} GROUP BY username ORDER BY n DESC LIMIT 5`, [since])).map((r) => ({ username: r.username, sessions: Number(r.n) }));
    const recentFailedLogins = (await q<{ username: string; client_address: string; channel: string; reason: string; created_at: string | number }>(
      `SELECT username, client_address, channel, reason, created_at FROM login_log WHERE ok = ${p(1)} ORDER BY created_at DESC LIMIT 10`, [false]))
      .map((r) => ({ username: r.username, clientAddress: r.client_address, channel: r.channel, reason: r.reason, at: new Date(Number(r.created_at)).toISOString() }));
    return {
      counts: { users, assets, onlineSessions: online, loginsToday, failedLoginsToday: failedToday },
      perDay, topAssets, topUsers, recentFailedLogins,
      recordings: await this.retention.recordingsUsage(),
    };
  }
}
