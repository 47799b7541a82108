/** Small shapes shared by several resources. */
export interface Ref {
  id: string;
  name: string;
}

export type Ability = 'manage' | 'audit' | 'self';
export type Role = 'admin' | 'auditor' | 'user';
export type Action = 'connect' | 'upload' | 'download' | 'tunnel';

export const ROLES: Role[] = ['admin', 'auditor', 'user'];
export const ACTIONS: Action[] = ['connect', 'upload', 'download', 'tunnel'];

export interface ListParams {
  search?: string;
  limit?: number;
  offset?: number;
}

type Json = Record<string, unknown>;

export const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);
export const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);
export const num = (v: unknown, fallback = 0): number => (typeof v === 'number' ? v : fallback);
export const bool = (v: unknown): boolean => v === true;
export const makeRef = (v: unknown): Ref => {
  const j = (v ?? {}) as Json;
  return { id: str(j.id), name: str(j.name ?? j.username) };
};
export const refs = (v: unknown): Ref[] => (Array.isArray(v) ? v.map(makeRef) : []);
export const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
export type { Json };
