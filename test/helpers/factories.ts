import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SYSTEM_ACTOR } from '../../core/actor.ts';
import type { Services } from '../../core/services.ts';
import type { Action, Asset, FileTransfer, Permission, Session, SystemUser, User, UserGroup } from '../../core/db/entities/index.ts';
import type { SessionResult } from '../../core/audit/sessions.ts';
import { recordingsDir } from './recordings.ts';

let seq = 0;
const next = (p: string) => `${p}${++seq}`;

/** Row makers over the real core services, for tests that need data fast. */
export function factories(s: Services) {
  return {
    async user(o: Partial<{ username: string; password: string; role: User['role']; groups: string[]; active: boolean; expiresAt: Date | null; mustChangePassword: boolean }> = {}): Promise<User> {
      return s.users.create(SYSTEM_ACTOR, {
        username: o.username ?? next('user'), password: o.password ?? 'Str0ng-pass-' + seq, role: o.role ?? 'user',
        groups: o.groups, active: o.active, expiresAt: o.expiresAt, mustChangePassword: o.mustChangePassword ?? false,
      });
    },
    group(o: Partial<{ name: string; users: string[] }> = {}): Promise<UserGroup> {
      return s.groups.create(SYSTEM_ACTOR, { name: o.name ?? next('group'), users: o.users });
    },
    node(o: Partial<{ name: string; parent: string }> = {}) {
      return s.nodes.create(SYSTEM_ACTOR, { name: o.name ?? next('node'), parent: o.parent });
    },
    asset(o: Partial<{ name: string; address: string; port: number; nodes: string[]; active: boolean; comment: string }> = {}): Promise<Asset> {
      return s.assets.create(SYSTEM_ACTOR, { name: o.name ?? next('asset'), address: o.address ?? '127.0.0.1', port: o.port ?? 22, nodes: o.nodes, active: o.active, comment: o.comment });
    },
    systemUser(o: Partial<{ name: string; username: string; password: string; privateKey: string; priority: number; loginMode: SystemUser['loginMode'] }> = {}): Promise<SystemUser> {
      return s.systemUsers.create(SYSTEM_ACTOR, {
        name: o.name ?? next('su'), username: o.username ?? 'deploy', password: o.password, privateKey: o.privateKey,
        priority: o.priority, loginMode: o.loginMode,
      });
    },
    permission(o: Partial<{ name: string; users: string[]; userGroups: string[]; assets: string[]; nodes: string[]; systemUsers: string[]; actions: Action[]; validFrom: Date | null; validTo: Date | null; active: boolean }>): Promise<Permission> {
      return s.permissions.create(SYSTEM_ACTOR, { name: o.name ?? next('perm'), actions: o.actions ?? ['connect'], ...o });
    },
    /**
     * A session row as the gateway leaves it: of `user` on `asset` (as `systemUser`, or only a
     * system user name), with these commands typed and file transfers made, ended with `end`
     * (left active without it).
     */
    async session(o: {
      user: Pick<User, 'id' | 'username'>; asset: Pick<Asset, 'id' | 'name'>; kind: Session['kind'];
      systemUser?: Pick<SystemUser, 'id' | 'username'>; systemUsername?: string; clientAddress?: string;
      commands?: { input: string; output?: string; offsetMs: number }[];
      transfers?: { operation: FileTransfer['operation']; path: string; size?: number; ok: boolean; message?: string }[];
      end?: SessionResult;
    }): Promise<Session> {
      const row = await s.sessions.start({
        userId: o.user.id, username: o.user.username, assetId: o.asset.id, assetName: o.asset.name,
        systemUserId: o.systemUser?.id ?? null, systemUsername: o.systemUser?.username ?? o.systemUsername ?? 'deploy',
        kind: o.kind, clientAddress: o.clientAddress ?? '127.0.0.1',
      });
      for (const c of o.commands ?? []) await s.sessions.addCommand(row, { input: c.input, output: c.output ?? '', offsetMs: c.offsetMs, at: new Date() });
      if (o.commands?.length) await s.sessions.flushCommands();
      for (const t of o.transfers ?? []) await s.fileTransfers.record(row, t);
      if (o.end) await s.sessions.end(row.id, o.end);
      return row;
    },
    /** A live shell session row of a new user on a new asset, whose recording holds these asciicast lines (header first). */
    async liveSession(castLines: string[]): Promise<Session> {
      const u = await this.user();
      const a = await this.asset();
      const live = await s.sessions.start({ userId: u.id, username: u.username, assetId: a.id, assetName: a.name, systemUserId: null, systemUsername: 'deploy', kind: 'shell', clientAddress: '127.0.0.1' });
      const rel = `2026/01/01/${live.id}.cast`;
      const file = path.join(recordingsDir(s), rel);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, castLines.join('\n') + '\n');
      await s.sessions.setRecording(live.id, rel);
      return live;
    },
  };
}
