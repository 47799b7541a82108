import { EntitySchema } from 'typeorm';
import { col } from '../columns.ts';

export interface AssetNode {
  id: string;
  name: string;
  parentId: string | null;
  createdAt: Date;
}

export interface AssetFacts {
  os?: string;
  osVersion?: string;
  kernel?: string;
  arch?: string;
  hostname?: string;
  cpuModel?: string;
  cpuCount?: number;
  memoryMb?: number;
  disks?: { device: string; mount: string; sizeBytes: number }[];
  interfaces?: { name: string; mac: string; ipv4: string | null }[];
}

export interface Asset {
  id: string;
  name: string;
  address: string;
  port: number;
  platform: string;
  adminUserId: string | null;
  active: boolean;
  labels: string[];
  comment: string;
  facts: AssetFacts | null;
  factsAt: Date | null;
  lastTestOk: boolean | null;
  lastTestAt: Date | null;
  lastTestMessage: string | null;
  createdAt: Date;
  updatedAt: Date;
  nodes?: AssetNode[];
}

export type LoginMode = 'auto' | 'manual';

export interface SystemUser {
  id: string;
  name: string;
  username: string;
  password: string | null; // sealed
  privateKey: string | null; // sealed
  loginMode: LoginMode;
  priority: number;
  sudo: string;
  shell: string;
  comment: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface AdminUser {
  id: string;
  name: string;
  username: string;
  password: string | null; // sealed
  privateKey: string | null; // sealed
  comment: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface HostKey {
  id: string;
  assetId: string;
  keyType: string;
  fingerprint: string;
  publicKey: string;
  createdAt: Date;
}

export const NodeEntity = new EntitySchema<AssetNode>({
  name: 'Node',
  tableName: 'node',
  columns: {
    id: col.id(),
    name: col.str(128),
    parentId: { ...col.ref(true), name: 'parent_id' },
    createdAt: { ...col.time(), name: 'created_at' },
  },
});

export const AssetEntity = new EntitySchema<Asset>({
  name: 'Asset',
  tableName: 'asset',
  columns: {
    id: col.id(),
    name: { ...col.str(128), unique: true },
    address: col.str(255),
    port: col.int(22),
    platform: col.str(32),
    adminUserId: { ...col.ref(true), name: 'admin_user_id' },
    active: col.bool(true),
    labels: col.json(),
    comment: col.text(),
    facts: col.json(true),
    factsAt: { ...col.time(true), name: 'facts_at' },
    lastTestOk: { type: 'boolean', nullable: true, name: 'last_test_ok' },
    lastTestAt: { ...col.time(true), name: 'last_test_at' },
    lastTestMessage: { ...col.text(true), name: 'last_test_message' },
    createdAt: { ...col.time(), name: 'created_at' },
    updatedAt: { ...col.time(), name: 'updated_at' },
  },
  relations: {
    nodes: {
      type: 'many-to-many',
      target: 'Node',
      joinTable: { name: 'asset_node', joinColumn: { name: 'asset_id' }, inverseJoinColumn: { name: 'node_id' } },
    },
  },
});

export const SystemUserEntity = new EntitySchema<SystemUser>({
  name: 'SystemUser',
  tableName: 'system_user',
  columns: {
    id: col.id(),
    name: { ...col.str(128), unique: true },
    username: col.str(64),
    password: col.text(true),
    privateKey: { ...col.text(true), name: 'private_key' },
    loginMode: { ...col.str(16), name: 'login_mode' },
    priority: col.int(20),
    sudo: col.text(),
    shell: col.str(128),
    comment: col.text(),
    createdAt: { ...col.time(), name: 'created_at' },
    updatedAt: { ...col.time(), name: 'updated_at' },
  },
});

export const AdminUserEntity = new EntitySchema<AdminUser>({
  name: 'AdminUser',
  tableName: 'admin_user',
  columns: {
    id: col.id(),
    name: { ...col.str(128), unique: true },
    username: col.str(64),
    password: col.text(true),
    privateKey: { ...col.text(true), name: 'private_key' },
    comment: col.text(),
    createdAt: { ...col.time(), name: 'created_at' },
    updatedAt: { ...col.time(), name: 'updated_at' },
  },
});

export const HostKeyEntity = new EntitySchema<HostKey>({
  name: 'HostKey',
  tableName: 'host_key',
  columns: {
    id: col.id(),
    assetId: { ...col.ref(), name: 'asset_id', unique: true },
    keyType: { ...col.str(64), name: 'key_type' },
    fingerprint: col.str(128),
    publicKey: { ...col.text(), name: 'public_key' },
    createdAt: { ...col.time(), name: 'created_at' },
  },
});
