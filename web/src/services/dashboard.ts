import { api } from './api.ts';
import { num, str, type Json } from './common.ts';

export interface Dashboard {
  counts: { users: number; assets: number; onlineSessions: number; loginsToday: number; failedLoginsToday: number };
  perDay: { day: string; logins: number; failedLogins: number; sessions: number }[];
  topAssets: { name: string; sessions: number }[];
  topUsers: { username: string; sessions: number }[];
  recentFailedLogins: { username: string; clientAddress: string; channel: string; reason: string; at: string }[];
  /** Disk used by session recordings. */
  recordings: { bytes: number; files: number };
}

const rows = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

export function makeDashboard(j: Json): Dashboard {
  const c = (j.counts ?? {}) as Json;
  const r = (j.recordings ?? {}) as Json;
  return {
    counts: { users: num(c.users), assets: num(c.assets), onlineSessions: num(c.onlineSessions), loginsToday: num(c.loginsToday), failedLoginsToday: num(c.failedLoginsToday) },
    perDay: rows(j.perDay).map((d) => ({ day: str(d.day), logins: num(d.logins), failedLogins: num(d.failedLogins), sessions: num(d.sessions) })),
    topAssets: rows(j.topAssets).map((a) => ({ name: str(a.name), sessions: num(a.sessions) })),
    topUsers: rows(j.topUsers).map((u) => ({ username: str(u.username), sessions: num(u.sessions) })),
    recentFailedLogins: rows(j.recentFailedLogins).map((l) => ({ username: str(l.username), clientAddress: str(l.clientAddress), channel: str(l.channel), reason: str(l.reason), at: str(l.at) })),
    recordings: { bytes: num(r.bytes), files: num(r.files) },
  };
}

export const dashboardService = {
  async get(): Promise<Dashboard> { return makeDashboard(await api.get<Json>('/dashboard')); },
};
