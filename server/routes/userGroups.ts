import { z } from 'zod';
import { presentGroup } from '../presenters/identity.ts';
import { comment, idList, listQuery, name } from './common.ts';
import { crudRoutes, patchOf } from './crud.ts';
import type { AnyRoute } from './define.ts';

const groupBody = z.object({ name, comment: comment.optional(), users: idList.optional() }).strict();

export const userGroupRoutes: AnyRoute[] = crudRoutes({
  base: '/user-groups', tag: 'user-groups', noun: 'user group',
  service: (s) => s.groups, present: presentGroup,
  createBody: groupBody, patchBody: patchOf(groupBody), listQuery,
});
