import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import { z } from 'zod';
import type { ByteRange, RecordingName, RecordingStore } from '../../core/recordings/recordingStore.ts';
import type { Session } from '../../core/db/entities/index.ts';
import type { Services } from '../../core/services.ts';
import { presentCommand, presentSession } from '../presenters/sessions.ts';
import { presentFileTransfer } from '../presenters/audit.ts';
import { CSV_MAX_ROWS, sendCsv } from '../presenters/csv.ts';
import { idParams, listQuery, pageOf, queryBool, queryDate } from './common.ts';
import { RESPONDED, route, type AnyRoute } from './define.ts';

const who = z.string().trim().min(1).max(128).optional();
export const SESSION_CSV_COLUMNS = ['id', 'startedAt', 'endedAt', 'user.username', 'asset.name', 'systemUser.username', 'kind', 'clientAddress', 'status', 'bytesIn', 'bytesOut', 'exitStatus', 'transfers', 'endReason', 'terminatedBy'];

export const sessionRoutes: AnyRoute[] = [
  route({
    method: 'get', path: '/sessions', tag: 'sessions', access: 'audit',
    summary: 'Sessions, newest first (user and asset by id or name); each with its count of file transfers and `transferOnly` (it only moved files); '
      + '`fold=true`: a transfer-only session (sftp, scp, rsync) of the same user, asset and system user that overlaps a shell session or starts within 5 minutes of its end, '
      + 'and whose shell matches the same `active`/`from`/`to` filters, is not listed itself but in its shell\'s `folded` array (oldest first; ignored with `kind`); '
      + '`format=csv` downloads every match as CSV (never folded)',
    query: listQuery.extend({ user: who, asset: who, active: queryBool, kind: z.enum(['shell', 'exec', 'sftp', 'tunnel']).optional(), from: queryDate, to: queryDate, fold: queryBool, format: z.enum(['json', 'csv']).optional() }),
    handler: async ({ query, res, services }) => {
      const csv = query.format === 'csv';
      const page = await services.sessions.list(csv ? { ...query, fold: false, limit: CSV_MAX_ROWS, offset: 0 } : query);
      if (csv) {
        const transfers = await services.fileTransfers.countBySession(page.items.map((s) => s.id));
        sendCsv(res, 'sessions.csv', SESSION_CSV_COLUMNS, page.items.map((s) => presentSession(s, transfers.get(s.id) ?? 0)));
        return RESPONDED;
      }
      const folded = query.fold && !query.kind ? await services.sessions.foldedUnder(page.items, query) : null;
      return { items: await presentWithFolded(services, page.items, folded), total: page.total };
    },
  }),
  route({
    method: 'get', path: '/sessions/:id', tag: 'sessions', access: 'audit',
    summary: 'One session, with the transfer-only sessions folded under it (`folded`) and, for a transfer-only session, the id of the shell it is folded under (`foldedInto`)',
    params: idParams,
    handler: async ({ params, services }) => {
      const session = await services.sessions.get(params.id);
      const [one] = await presentWithFolded(services, [session], await services.sessions.foldedUnder([session]));
      const into = await services.sessions.foldedInto(session, one!.transferOnly);
      return { ...one!, foldedInto: into?.id ?? null };
    },
  }),
  route({
    method: 'get', path: '/sessions/:id/transfers', tag: 'sessions', access: 'audit',
    summary: 'The file transfers of a session and of the sessions folded under it (each row names its `sessionId`), newest first',
    params: idParams, query: listQuery,
    handler: async ({ params, query, services }) => {
      const session = await services.sessions.get(params.id);
      const children = (await services.sessions.foldedUnder([session])).get(session.id) ?? [];
      return pageOf(await services.fileTransfers.list({ ...query, sessions: [session.id, ...children.map((c) => c.id)] }), presentFileTransfer);
    },
  }),
  route({
    method: 'get', path: '/sessions/:id/commands', tag: 'sessions', access: 'audit', summary: 'Commands typed in a session, in order',
    params: idParams, query: listQuery,
    handler: async ({ params, query, services }) => pageOf(await services.sessions.commands(params.id, query), presentCommand),
  }),
  route({
    method: 'get', path: '/sessions/:id/recording', tag: 'sessions', access: 'audit', summary: 'The asciicast v2 recording (Range requests supported); of a running session, as far as it has come with recordings in a directory, 409 (recording_session_running) with recordings on S3 until it ends',
    params: idParams,
    handler: async ({ params, req, res, services }) => {
      const session = await services.sessions.get(params.id);
      // The name comes from the row, accepted only as `YYYY/MM/DD/<this session's UUID>.cast` (rule 7).
      const rec = await services.sessions.recordingToRead(session);
      await sendRecording(res, services.recordings, rec.name, rec.info.size, `${session.id}.cast`, req.headers.range);
      return RESPONDED;
    },
  }),
];

/** Sessions as presented, each with its transfer count and the sessions folded under it (when folding). */
async function presentWithFolded(services: Services, sessions: readonly Session[], folded: Map<string, Session[]> | null) {
  const all = [...sessions, ...[...(folded?.values() ?? [])].flat()];
  const transfers = await services.fileTransfers.countBySession(all.map((s) => s.id));
  const one = (s: Session) => presentSession(s, transfers.get(s.id) ?? 0);
  return sessions.map((s) => (folded ? { ...one(s), folded: (folded.get(s.id) ?? []).map(one) } : one(s)));
}

/** One byte range of a file of `size` bytes, per RFC 9110: null to send it all, 'unsatisfiable' for 416. */
export function byteRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Several ranges, other units or bad syntax: the header may be ignored, and is.
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

async function sendRecording(res: Response, store: RecordingStore, recording: RecordingName, size: number, name: string, rangeHeader: string | undefined): Promise<void> {
  res.setHeader('Content-Type', 'application/x-asciicast');
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Content-Disposition', `inline; filename="${name}"`);
  res.setHeader('Cache-Control', 'private, no-store');
  const range = byteRange(rangeHeader, size);
  if (range === 'unsatisfiable') {
    res.status(416).setHeader('Content-Range', `bytes */${size}`);
    res.end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  if (range) {
    res.status(206).setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
  } else {
    res.status(200);
  }
  res.setHeader('Content-Length', String(size === 0 ? 0 : end - start + 1));
  if (size === 0) {
    res.end();
    return;
  }
  try {
    const part: ByteRange = { start, end };
    await pipeline(await store.read(recording, part), res);
  } catch {
    // The client went away or the file vanished mid-way: nothing more can be said over this response.
    res.destroy();
  }
}
