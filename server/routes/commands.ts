import { z } from 'zod';
import { presentCommand } from '../presenters/sessions.ts';
import { listQuery, pageOf, queryDate } from './common.ts';
import { route, type AnyRoute } from './define.ts';

const who = z.string().trim().min(1).max(128).optional();

export const commandRoutes: AnyRoute[] = [
  route({
    method: 'get', path: '/commands', tag: 'sessions', access: 'audit', summary: 'Commands across sessions, newest first; search matches the command line',
    query: listQuery.extend({ user: who, asset: who, systemUser: z.string().trim().min(1).max(64).optional(), from: queryDate, to: queryDate }),
    handler: async ({ query, services }) => pageOf(await services.sessions.searchCommands(query), presentCommand),
  }),
];
