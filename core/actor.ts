import type { Role } from './db/entities/index.ts';

/** Who is doing something, and from where: passed to every mutating core function. */
export interface Actor {
  id: string | null;
  username: string;
  role: Role | 'system';
  clientAddress: string;
}

export const SYSTEM_ACTOR: Actor = { id: null, username: 'system', role: 'system', clientAddress: '' };
