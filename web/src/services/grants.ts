import { num, str, strOrNull, strings, type Json } from './common.ts';

export interface GrantedSystemUser {
  id: string;
  name: string;
  username: string;
  priority: number;
  actions: string[];
}

export interface GrantedAsset {
  id: string;
  name: string;
  address: string;
  port: number;
  platform: string;
  comment: string;
  systemUsers: GrantedSystemUser[];
  sshCommand: string | null;
}

export function makeGrantedAsset(j: Json): GrantedAsset {
  const sus = Array.isArray(j.systemUsers) ? (j.systemUsers as Json[]) : [];
  return {
    id: str(j.id), name: str(j.name), address: str(j.address), port: num(j.port, 22), platform: str(j.platform), comment: str(j.comment),
    systemUsers: sus.map((s) => ({ id: str(s.id), name: str(s.name), username: str(s.username), priority: num(s.priority), actions: strings(s.actions) })),
    sshCommand: strOrNull(j.sshCommand),
  };
}

export interface Reacher {
  user: { id: string; username: string; name: string };
  systemUsers: { id: string; name: string; username: string; actions: string[] }[];
}

export function makeReacher(j: Json): Reacher {
  const u = (j.user ?? {}) as Json;
  const sus = Array.isArray(j.systemUsers) ? (j.systemUsers as Json[]) : [];
  return {
    user: { id: str(u.id), username: str(u.username), name: str(u.name) },
    systemUsers: sus.map((s) => ({ id: str(s.id), name: str(s.name), username: str(s.username), actions: strings(s.actions) })),
  };
}
