import { RemoteSelect, type Option } from './RemoteSelect.tsx';
import type { Ref } from '../services/common.ts';
import { usersService } from '../services/users.ts';
import { userGroupsService } from '../services/userGroups.ts';
import { assetsService } from '../services/assets.ts';
import { accountsService } from '../services/accounts.ts';
import { permissionsService } from '../services/permissions.ts';

interface PickerProps {
  id?: string;
  value?: string[];
  onChange?: (v: string[]) => void;
  known?: Ref[];
}

const LIMIT = 50;
const toOptions = (refs: Ref[] | undefined): Option[] => (refs ?? []).map((r) => ({ value: r.id, label: r.name }));

function multi(resource: string, fetch: (s: string) => Promise<Option[]>) {
  return function Picker({ id, value, onChange, known }: PickerProps) {
    return <RemoteSelect id={id} multiple resource={resource} fetch={fetch} value={value} known={toOptions(known)} onChange={(v) => onChange?.((v as string[] | null) ?? [])} />;
  };
}

export const UserPicker = multi('users', async (search) =>
  (await usersService.list({ search, limit: LIMIT })).items.map((u) => ({ value: u.id, label: u.name && u.name !== u.username ? `${u.username} (${u.name})` : u.username })));

export const GroupPicker = multi('user-groups', async (search) =>
  (await userGroupsService.list({ search, limit: LIMIT })).items.map((g) => ({ value: g.id, label: g.name })));

export const AssetPicker = multi('assets', async (search) =>
  (await assetsService.list({ search, limit: LIMIT })).items.map((a) => ({ value: a.id, label: `${a.name} (${a.address})` })));

export const SystemUserPicker = multi('system-users', async (search) =>
  (await accountsService('system-users').list({ search, limit: LIMIT })).items.map((s) => ({ value: s.id, label: `${s.name} (${s.username})` })));

/** One admin user or none. */
export function AdminUserPicker({ id, value, onChange, known }: { id?: string; value?: string | null; onChange?: (v: string | null) => void; known?: Ref[] }) {
  return (
    <RemoteSelect
      id={id}
      resource="admin-users"
      fetch={async (search) => (await accountsService('admin-users').list({ search, limit: LIMIT })).items.map((s) => ({ value: s.id, label: `${s.name} (${s.username})` }))}
      value={value ?? null}
      known={toOptions(known)}
      onChange={(v) => onChange?.((v as string | null) ?? null)}
    />
  );
}

/** One row of a list to filter by (a user, a group, an asset), searched on the server. */
export function FilterPicker({ resource, label, onChange }: { resource: 'users' | 'user-groups' | 'assets'; label: string; onChange: (id: string | undefined) => void }) {
  const fetchers = {
    users: async (search: string) => (await usersService.list({ search, limit: LIMIT })).items.map((u) => ({ value: u.id, label: u.username })),
    'user-groups': async (search: string) => (await userGroupsService.list({ search, limit: LIMIT })).items.map((g) => ({ value: g.id, label: g.name })),
    assets: async (search: string) => (await assetsService.list({ search, limit: LIMIT })).items.map((a) => ({ value: a.id, label: a.name })),
  };
  return (
    <div style={{ width: 200 }}>
      <RemoteSelect resource={`filter-${resource}`} fetch={fetchers[resource]} placeholder={label} aria-label={label} onChange={(v) => onChange((v as string | null) ?? undefined)} />
    </div>
  );
}

interface SinglePickerProps {
  id?: string;
  value?: string | null;
  onChange?: (v: string | null) => void;
  'aria-label'?: string;
  placeholder?: string;
}

function single(resource: string, fetch: (s: string) => Promise<Option[]>) {
  return function Picker({ id, value, onChange, placeholder, ...rest }: SinglePickerProps) {
    return <RemoteSelect id={id} resource={resource} fetch={fetch} value={value ?? null} placeholder={placeholder} aria-label={rest['aria-label']} onChange={(v) => onChange?.((v as string | null) ?? null)} />;
  };
}

const userOptions = async (search: string) => (await usersService.list({ search, limit: LIMIT })).items.map((u) => ({ value: u.id, label: u.username }));
const assetOptions = async (search: string) => (await assetsService.list({ search, limit: LIMIT })).items.map((a) => ({ value: a.id, label: `${a.name} (${a.address})` }));
const systemUserOptions = async (search: string) => (await accountsService('system-users').list({ search, limit: LIMIT })).items.map((s) => ({ value: s.id, label: `${s.name} (${s.username})` }));

/** One user, one asset, one system user: the subjects of a single check or run. */
export const OneUserPicker = single('one-user', userOptions);
export const OneAssetPicker = single('one-asset', assetOptions);
export const OneSystemUserPicker = single('one-system-user', systemUserOptions);

/** One permission (bulk "add to permission"). */
export const OnePermissionPicker = single('one-permission', async (search) => (await permissionsService.list({ search, limit: LIMIT })).items.map((p) => ({ value: p.id, label: p.name })));
