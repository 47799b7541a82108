import { z } from 'zod';
import { presentCommand } from '../presenters/sessions.ts';
import { CSV_MAX_ROWS, sendCsv } from '../presenters/csv.ts';
import { listQuery, pageOf, queryDate } from './common.ts';
import { RESPONDED, route, type AnyRoute } from './define.ts';

const who = z.string().trim().min(1).max(128).optional();
export const COMMAND_CSV_COLUMNS = ['createdAt', 'user.username', 'asset.name', 'systemUser.username', 'input', 'risk', 'notEchoed', 'session', 'offsetMs'];

export const commandRoutes: AnyRoute[] = [
  route({
    method: 'get', path: '/commands', tag: 'sessions', access: 'audit',
    summary: 'Commands across sessions, newest first; search matches the command line; `format=csv` downloads every match as CSV',
    query: listQuery.extend({ user: who, asset: who, systemUser: z.string().trim().min(1).max(64).optional(), from: queryDate, to: queryDate, format: z.enum(['json', 'csv']).optional() }),
    handler: async ({ query, res, services }) => {
      if (query.format !== 'csv') return pageOf(await services.sessions.searchCommands(query), presentCommand);
      const page = await services.sessions.searchCommands({ ...query, limit: CSV_MAX_ROWS, offset: 0 });
      sendCsv(res, 'commands.csv', COMMAND_CSV_COLUMNS, page.items.map(presentCommand));
      return RESPONDED;
    },
  }),
];
