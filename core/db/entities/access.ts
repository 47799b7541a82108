import { EntitySchema } from 'typeorm';
import { col } from '../columns.ts';
import type { User, UserGroup } from './identity.ts';
import type { Asset, AssetNode, SystemUser } from './assets.ts';

export type Action = 'connect' | 'upload' | 'download' | 'tunnel';
export const ACTIONS: readonly Action[] = ['connect', 'upload', 'download', 'tunnel'];

export interface Permission {
  id: string;
  name: string;
  actions: Action[];
  validFrom: Date | null;
  validTo: Date | null;
  active: boolean;
  comment: string;
  createdAt: Date;
  updatedAt: Date;
  users?: User[];
  userGroups?: UserGroup[];
  assets?: Asset[];
  nodes?: AssetNode[];
  systemUsers?: SystemUser[];
}

export type FilterAction = 'deny' | 'allow' | 'confirm';

export interface CommandFilter {
  id: string;
  name: string;
  kind: 'regex' | 'commands';
  pattern: string;
  action: FilterAction;
  priority: number;
  active: boolean;
  users: string[];
  userGroups: string[];
  assets: string[];
  nodes: string[];
  systemUsers: string[];
  comment: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface Setting {
  key: string;
  value: string;
}

function join(name: string, inverse: string) {
  return { name, joinColumn: { name: 'permission_id' }, inverseJoinColumn: { name: inverse } };
}

export const PermissionEntity = new EntitySchema<Permission>({
  name: 'Permission',
  tableName: 'permission',
  columns: {
    id: col.id(),
    name: { ...col.str(128), unique: true },
    actions: col.json(),
    validFrom: { ...col.time(true), name: 'valid_from' },
    validTo: { ...col.time(true), name: 'valid_to' },
    active: col.bool(true),
    comment: col.text(),
    createdAt: { ...col.time(), name: 'created_at' },
    updatedAt: { ...col.time(), name: 'updated_at' },
  },
  relations: {
    users: { type: 'many-to-many', target: 'User', joinTable: join('permission_user', 'user_id') },
    userGroups: { type: 'many-to-many', target: 'UserGroup', joinTable: join('permission_user_group', 'group_id') },
    assets: { type: 'many-to-many', target: 'Asset', joinTable: join('permission_asset', 'asset_id') },
    nodes: { type: 'many-to-many', target: 'Node', joinTable: join('permission_node', 'node_id') },
    systemUsers: { type: 'many-to-many', target: 'SystemUser', joinTable: join('permission_system_user', 'system_user_id') },
  },
});

export const CommandFilterEntity = new EntitySchema<CommandFilter>({
  name: 'CommandFilter',
  tableName: 'command_filter',
  columns: {
    id: col.id(),
    name: { ...col.str(128), unique: true },
    kind: col.str(16),
    pattern: col.text(),
    action: col.str(16),
    priority: col.int(50),
    active: col.bool(true),
    users: col.json(),
    userGroups: { ...col.json(), name: 'user_groups' },
    assets: col.json(),
    nodes: col.json(),
    systemUsers: { ...col.json(), name: 'system_users' },
    comment: col.text(),
    createdAt: { ...col.time(), name: 'created_at' },
    updatedAt: { ...col.time(), name: 'updated_at' },
  },
});

export const SettingEntity = new EntitySchema<Setting>({
  name: 'Setting',
  tableName: 'setting',
  columns: {
    key: { type: 'varchar', length: 64, primary: true },
    value: col.text(),
  },
});
