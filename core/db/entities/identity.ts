import { EntitySchema } from 'typeorm';
import { col } from '../columns.ts';

export type Role = 'admin' | 'auditor' | 'user';
export const ROLES: readonly Role[] = ['admin', 'auditor', 'user'];

export interface User {
  id: string;
  username: string;
  name: string;
  email: string | null;
  role: Role;
  passwordHash: string | null;
  mustChangePassword: boolean;
  totpSecret: string | null; // sealed
  totpEnabled: boolean;
  /** Time step of the last accepted TOTP code: a code is good once. */
  totpLastStep: number | null;
  active: boolean;
  expiresAt: Date | null;
  lockedUntil: Date | null;
  lastLoginAt: Date | null;
  comment: string;
  createdAt: Date;
  updatedAt: Date;
  groups?: UserGroup[];
}

export interface UserGroup {
  id: string;
  name: string;
  comment: string;
  createdAt: Date;
  users?: User[];
}

export interface UserKey {
  id: string;
  userId: string;
  name: string;
  publicKey: string;
  keyType: string;
  fingerprint: string;
  lastUsedAt: Date | null;
  createdAt: Date;
}

export interface ApiToken {
  id: string;
  userId: string;
  name: string;
  tokenHash: string;
  prefix: string;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
}

export interface AuthSession {
  id: string; // sha256 of the cookie value
  userId: string;
  clientAddress: string;
  userAgent: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
}

/** A one-time MFA recovery code: only its keyed hash (Vault.keyedHash) is stored. */
export interface RecoveryCode {
  id: string;
  userId: string;
  codeHash: string;
  usedAt: Date | null;
  createdAt: Date;
}

export const UserEntity = new EntitySchema<User>({
  name: 'User',
  tableName: 'user',
  columns: {
    id: col.id(),
    username: { ...col.str(64), unique: true },
    name: col.str(128),
    email: col.str(254, true),
    role: col.str(16),
    passwordHash: { ...col.str(255, true), name: 'password_hash' },
    mustChangePassword: { ...col.bool(false), name: 'must_change_password' },
    totpSecret: { ...col.text(true), name: 'totp_secret' },
    totpEnabled: { ...col.bool(false), name: 'totp_enabled' },
    totpLastStep: { ...col.big(true), name: 'totp_last_step' },
    active: col.bool(true),
    expiresAt: { ...col.time(true), name: 'expires_at' },
    lockedUntil: { ...col.time(true), name: 'locked_until' },
    lastLoginAt: { ...col.time(true), name: 'last_login_at' },
    comment: col.text(),
    createdAt: { ...col.time(), name: 'created_at' },
    updatedAt: { ...col.time(), name: 'updated_at' },
  },
  relations: {
    groups: { type: 'many-to-many', target: 'UserGroup', inverseSide: 'users' },
  },
});

export const UserGroupEntity = new EntitySchema<UserGroup>({
  name: 'UserGroup',
  tableName: 'user_group',
  columns: {
    id: col.id(),
    name: { ...col.str(128), unique: true },
    comment: col.text(),
    createdAt: { ...col.time(), name: 'created_at' },
  },
  relations: {
    users: {
      type: 'many-to-many',
      target: 'User',
      inverseSide: 'groups',
      joinTable: { name: 'user_group_member', joinColumn: { name: 'group_id' }, inverseJoinColumn: { name: 'user_id' } },
    },
  },
});

export const UserKeyEntity = new EntitySchema<UserKey>({
  name: 'UserKey',
  tableName: 'user_key',
  columns: {
    id: col.id(),
    userId: { ...col.ref(), name: 'user_id' },
    name: col.str(128),
    publicKey: { ...col.text(), name: 'public_key' },
    keyType: { ...col.str(64), name: 'key_type' },
    fingerprint: col.str(128),
    lastUsedAt: { ...col.time(true), name: 'last_used_at' },
    createdAt: { ...col.time(), name: 'created_at' },
  },
});

export const ApiTokenEntity = new EntitySchema<ApiToken>({
  name: 'ApiToken',
  tableName: 'api_token',
  columns: {
    id: col.id(),
    userId: { ...col.ref(), name: 'user_id' },
    name: col.str(128),
    tokenHash: { ...col.str(64), name: 'token_hash', unique: true },
    prefix: col.str(16),
    expiresAt: { ...col.time(true), name: 'expires_at' },
    lastUsedAt: { ...col.time(true), name: 'last_used_at' },
    createdAt: { ...col.time(), name: 'created_at' },
  },
});

export const AuthSessionEntity = new EntitySchema<AuthSession>({
  name: 'AuthSession',
  tableName: 'auth_session',
  columns: {
    id: { type: 'varchar', length: 64, primary: true },
    userId: { ...col.ref(), name: 'user_id' },
    clientAddress: { ...col.str(64), name: 'client_address' },
    userAgent: { ...col.str(512), name: 'user_agent' },
    createdAt: { ...col.time(), name: 'created_at' },
    lastSeenAt: { ...col.time(), name: 'last_seen_at' },
    expiresAt: { ...col.time(), name: 'expires_at' },
  },
});

/** An operator's favourite (asset, system user) pair on "My assets". */
export interface AssetFavourite {
  userId: string;
  assetId: string;
  systemUserId: string;
  createdAt: Date;
}

export const AssetFavouriteEntity = new EntitySchema<AssetFavourite>({
  name: 'AssetFavourite',
  tableName: 'asset_favourite',
  columns: {
    userId: { ...col.ref(), name: 'user_id', primary: true },
    assetId: { ...col.ref(), name: 'asset_id', primary: true },
    systemUserId: { ...col.ref(), name: 'system_user_id', primary: true },
    createdAt: { ...col.time(), name: 'created_at' },
  },
});

export const RecoveryCodeEntity = new EntitySchema<RecoveryCode>({
  name: 'RecoveryCode',
  tableName: 'recovery_code',
  columns: {
    id: col.id(),
    userId: { ...col.ref(), name: 'user_id' },
    codeHash: { ...col.str(64), name: 'code_hash' },
    usedAt: { ...col.time(true), name: 'used_at' },
    createdAt: { ...col.time(), name: 'created_at' },
  },
});
