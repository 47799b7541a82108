import { z } from 'zod';
import { ACTIONS, type Action } from '../../core/db/entities/index.ts';
import { presentPermission } from '../presenters/access.ts';
import { comment, idList, labelsQuery, listQuery, name, nullableDate, queryBool } from './common.ts';
import { crudRoutes, patchOf } from './crud.ts';
import type { AnyRoute } from './define.ts';

const permissionBody = z.object({
  name,
  users: idList.optional(),
  userGroups: idList.optional(),
  assets: idList.optional(),
  nodes: idList.optional(),
  systemUsers: idList.optional(),
  actions: z.array(z.enum(ACTIONS as [Action, ...Action[]])).min(1).max(4).optional(),
  validFrom: nullableDate.optional(),
  validTo: nullableDate.optional(),
  active: z.boolean().optional(),
  comment: comment.optional(),
}).strict();

export const permissionRoutes: AnyRoute[] = crudRoutes({
  base: '/permissions', tag: 'permissions', noun: 'permission',
  service: (s) => s.permissions, present: presentPermission,
  createBody: permissionBody, patchBody: patchOf(permissionBody),
  listQuery: listQuery.extend({ user: z.uuid().optional(), asset: z.uuid().optional(), active: queryBool, labels: labelsQuery }),
});
