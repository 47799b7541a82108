import { str, strOrNull, type Json } from './common.ts';

export interface UserKey {
  id: string;
  name: string;
  keyType: string;
  fingerprint: string;
  publicKey: string;
  lastUsedAt: string | null;
  createdAt: string | null;
}

export function makeUserKey(j: Json): UserKey {
  return { id: str(j.id), name: str(j.name), keyType: str(j.keyType), fingerprint: str(j.fingerprint), publicKey: str(j.publicKey), lastUsedAt: strOrNull(j.lastUsedAt), createdAt: strOrNull(j.createdAt) };
}
