import { Table, TableIndex, type MigrationInterface, type QueryRunner, type TableColumnOptions } from 'typeorm';

// Frozen: this file describes the schema as it was when written and imports no live entity.
const id = (name = 'id'): TableColumnOptions => ({ name, type: 'varchar', length: '36', isPrimary: true });
const ref = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'varchar', length: '36', isNullable: nullable });
const str = (name: string, length: number, nullable = false): TableColumnOptions => ({ name, type: 'varchar', length: String(length), isNullable: nullable });
const text = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'text', isNullable: nullable });
const bool = (name: string, dflt: boolean | null): TableColumnOptions =>
  dflt === null ? { name, type: 'boolean', isNullable: true } : { name, type: 'boolean', default: dflt };
const int = (name: string, dflt?: number, nullable = false): TableColumnOptions => ({ name, type: 'integer', isNullable: nullable, ...(dflt === undefined ? {} : { default: dflt }) });
const big = (name: string, nullable = false, dflt?: number): TableColumnOptions => ({ name, type: 'bigint', isNullable: nullable, ...(dflt === undefined ? {} : { default: dflt }) });
const created = big('created_at');
const updated = big('updated_at');

function joinTable(name: string, left: string, leftTable: string, right: string, rightTable: string): Table {
  return new Table({
    name,
    columns: [
      { ...ref(left), isPrimary: true },
      { ...ref(right), isPrimary: true },
    ],
    foreignKeys: [
      { columnNames: [left], referencedTableName: leftTable, referencedColumnNames: ['id'], onDelete: 'CASCADE' },
      { columnNames: [right], referencedTableName: rightTable, referencedColumnNames: ['id'], onDelete: 'CASCADE' },
    ],
    indices: [{ columnNames: [right] }],
  });
}

export class Initial1764000000000 implements MigrationInterface {
  name = 'Initial1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({
      name: 'user',
      columns: [
        id(), { ...str('username', 64), isUnique: true }, str('name', 128), str('email', 254, true), str('role', 16),
        str('password_hash', 255, true), bool('must_change_password', false), text('totp_secret', true),
        bool('totp_enabled', false), bool('active', true), big('expires_at', true), int('failed_logins', 0),
        big('locked_until', true), big('last_login_at', true), text('comment'), created, updated,
      ],
    }));
    await q.createTable(new Table({
      name: 'user_group',
      columns: [id(), { ...str('name', 128), isUnique: true }, text('comment'), created],
    }));
    await q.createTable(joinTable('user_group_member', 'group_id', 'user_group', 'user_id', 'user'));
    await q.createTable(new Table({
      name: 'user_key',
      columns: [id(), ref('user_id'), str('name', 128), text('public_key'), str('key_type', 64), str('fingerprint', 128), big('last_used_at', true), created],
      foreignKeys: [{ columnNames: ['user_id'], referencedTableName: 'user', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
      indices: [{ columnNames: ['user_id', 'fingerprint'], isUnique: true }, { columnNames: ['fingerprint'] }],
    }));
    await q.createTable(new Table({
      name: 'api_token',
      columns: [id(), ref('user_id'), str('name', 128), { ...str('token_hash', 64), isUnique: true }, str('prefix', 16), big('expires_at', true), big('last_used_at', true), created],
      foreignKeys: [{ columnNames: ['user_id'], referencedTableName: 'user', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
    }));
    await q.createTable(new Table({
      name: 'auth_session',
      columns: [{ name: 'id', type: 'varchar', length: '64', isPrimary: true }, ref('user_id'), str('client_address', 64), str('user_agent', 512), created, big('last_seen_at'), big('expires_at')],
      foreignKeys: [{ columnNames: ['user_id'], referencedTableName: 'user', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
      indices: [{ columnNames: ['user_id'] }],
    }));
    await q.createTable(new Table({
      name: 'node',
      columns: [id(), str('name', 128), ref('parent_id', true), created],
      foreignKeys: [{ columnNames: ['parent_id'], referencedTableName: 'node', referencedColumnNames: ['id'] }],
      indices: [{ columnNames: ['parent_id'] }],
    }));
    await q.createTable(new Table({
      name: 'admin_user',
      columns: [id(), { ...str('name', 128), isUnique: true }, str('username', 64), text('password', true), text('private_key', true), text('comment'), created, updated],
    }));
    await q.createTable(new Table({
      name: 'asset',
      columns: [
        id(), { ...str('name', 128), isUnique: true }, str('address', 255), int('port', 22), str('platform', 32),
        ref('admin_user_id', true), bool('active', true), text('labels'), text('comment'), text('facts', true),
        big('facts_at', true), bool('last_test_ok', null), big('last_test_at', true), text('last_test_message', true), created, updated,
      ],
      foreignKeys: [{ columnNames: ['admin_user_id'], referencedTableName: 'admin_user', referencedColumnNames: ['id'], onDelete: 'SET NULL' }],
      indices: [{ columnNames: ['address'] }],
    }));
    await q.createTable(joinTable('asset_node', 'asset_id', 'asset', 'node_id', 'node'));
    await q.createTable(new Table({
      name: 'system_user',
      columns: [
        id(), { ...str('name', 128), isUnique: true }, str('username', 64), text('password', true), text('private_key', true),
        str('login_mode', 16), int('priority', 20), text('sudo'), str('shell', 128), text('comment'), created, updated,
      ],
    }));
    await q.createTable(new Table({
      name: 'host_key',
      columns: [id(), { ...ref('asset_id'), isUnique: true }, str('key_type', 64), str('fingerprint', 128), text('public_key'), created],
      foreignKeys: [{ columnNames: ['asset_id'], referencedTableName: 'asset', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
    }));
    await q.createTable(new Table({
      name: 'permission',
      columns: [id(), { ...str('name', 128), isUnique: true }, text('actions'), big('valid_from', true), big('valid_to', true), bool('active', true), text('comment'), created, updated],
    }));
    await q.createTable(joinTable('permission_user', 'permission_id', 'permission', 'user_id', 'user'));
    await q.createTable(joinTable('permission_user_group', 'permission_id', 'permission', 'group_id', 'user_group'));
    await q.createTable(joinTable('permission_asset', 'permission_id', 'permission', 'asset_id', 'asset'));
    await q.createTable(joinTable('permission_node', 'permission_id', 'permission', 'node_id', 'node'));
    await q.createTable(joinTable('permission_system_user', 'permission_id', 'permission', 'system_user_id', 'system_user'));
    await q.createTable(new Table({
      name: 'command_filter',
      columns: [
        id(), { ...str('name', 128), isUnique: true }, str('kind', 16), text('pattern'), str('action', 16), int('priority', 50),
        bool('active', true), text('users'), text('user_groups'), text('assets'), text('nodes'), text('system_users'), text('comment'), created, updated,
      ],
    }));
    await q.createTable(new Table({ name: 'setting', columns: [{ name: 'key', type: 'varchar', length: '64', isPrimary: true }, text('value')] }));
    await q.createTable(new Table({
      name: 'session',
      columns: [
        id(), ref('user_id'), str('username', 64), ref('asset_id'), str('asset_name', 128), ref('system_user_id', true),
        str('system_username', 64), str('kind', 16), str('client_address', 64), big('started_at'), big('ended_at', true),
        str('status', 16), str('recording', 255, true), big('bytes_in', false, 0), big('bytes_out', false, 0),
        int('exit_status', undefined, true), str('exit_signal', 32, true), str('terminated_by', 64, true), text('end_reason', true),
      ],
      indices: [{ columnNames: ['started_at'] }, { columnNames: ['status'] }, { columnNames: ['user_id'] }, { columnNames: ['asset_id'] }],
    }));
    await q.createTable(new Table({
      name: 'command',
      columns: [
        id(), ref('session_id'), ref('user_id'), str('username', 64), ref('asset_id'), str('asset_name', 128), str('system_username', 64),
        text('input'), text('output'), str('risk', 16), big('offset_ms'), created,
      ],
      indices: [{ columnNames: ['session_id'] }, { columnNames: ['created_at'] }],
    }));
    await q.createTable(new Table({
      name: 'login_log',
      columns: [id(), str('username', 128), ref('user_id', true), str('client_address', 64), str('channel', 8), str('method', 32), bool('ok', false), text('reason'), created],
      indices: [{ columnNames: ['created_at'] }, { columnNames: ['username'] }],
    }));
    await q.createTable(new Table({
      name: 'operation_log',
      columns: [id(), ref('actor_id', true), str('actor_username', 64), str('action', 32), str('resource_type', 32), ref('resource_id', true), str('resource_name', 255), text('changes'), str('client_address', 64), created],
      indices: [{ columnNames: ['created_at'] }],
    }));
    await q.createTable(new Table({
      name: 'file_transfer',
      columns: [
        id(), ref('session_id'), ref('user_id'), str('username', 64), ref('asset_id'), str('asset_name', 128), str('system_username', 64),
        str('operation', 16), text('path'), text('target_path', true), big('size', false, 0), bool('ok', false), text('message'), created,
      ],
      indices: [{ columnNames: ['created_at'] }, { columnNames: ['session_id'] }],
    }));
    await q.createTable(new Table({
      name: 'job',
      columns: [id(), str('kind', 16), str('status', 16), text('params'), text('results'), text('log'), ref('created_by', true), created, big('started_at', true), big('ended_at', true)],
      indices: [{ columnNames: ['created_at'] }],
    }));
    await q.createIndex('command', new TableIndex({ columnNames: ['asset_id'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'job', 'file_transfer', 'operation_log', 'login_log', 'command', 'session', 'setting', 'command_filter',
      'permission_system_user', 'permission_node', 'permission_asset', 'permission_user_group', 'permission_user', 'permission',
      'host_key', 'system_user', 'asset_node', 'asset', 'admin_user', 'node', 'auth_session', 'api_token', 'user_key',
      'user_group_member', 'user_group', 'user',
    ]) await q.dropTable(t);
  }
}
