import { z } from 'zod';
import { presentAdminUser, presentSystemUser } from '../presenters/assets.ts';
import { accountUsername, comment, listQuery, name } from './common.ts';
import { crudRoutes, patchOf } from './crud.ts';
import type { AnyRoute } from './define.ts';

const secretFields = {
  // Write-only: null clears, a string replaces, absent keeps.
  password: z.string().min(1).max(1024).nullable().optional(),
  privateKey: z.string().min(1).max(16384).nullable().optional(),
};

const systemUserBody = z.object({
  name,
  username: accountUsername,
  ...secretFields,
  loginMode: z.enum(['auto', 'manual']).optional(),
  priority: z.number().int().min(1).max(100).optional(),
  // One sudoers command list (e.g. `/usr/bin/systemctl, /usr/bin/journalctl` or `ALL`): never a second line.
  sudo: z.string().max(2000).regex(/^[^\r\n\\]*$/, 'must be one line without backslashes').optional(),
  shell: z.string().max(128).regex(/^\/[\w./-]*$/, 'must be an absolute path').optional(),
  comment: comment.optional(),
}).strict();

const adminUserBody = z.object({ name, username: accountUsername, ...secretFields, comment: comment.optional() }).strict();

export const accountRoutes: AnyRoute[] = [
  ...crudRoutes({
    base: '/system-users', tag: 'system-users', noun: 'system user',
    service: (s) => s.systemUsers, present: presentSystemUser,
    createBody: systemUserBody, patchBody: patchOf(systemUserBody), listQuery,
  }),
  ...crudRoutes({
    base: '/admin-users', tag: 'admin-users', noun: 'admin user',
    service: (s) => s.adminUsers, present: presentAdminUser,
    createBody: adminUserBody, patchBody: patchOf(adminUserBody), listQuery,
  }),
];
