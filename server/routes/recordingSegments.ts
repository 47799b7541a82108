import { z } from 'zod';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import { idleCompressor, type SegmentIndex } from '../../core/audit/recordingSegments.ts';
import type { RecordingInfo, RecordingName } from '../../core/recordings/recordingStore.ts';
import type { Services } from '../../core/services.ts';
import { idParams } from './common.ts';
import { RESPONDED, route, type AnyRoute } from './define.ts';

/** `?idle=N`: pauses longer than N seconds are shortened to N (the player's "skip idle time"). */
const idleQuery = z.object({ idle: z.coerce.number().min(1).max(86_400).optional() });

/** The recording of an ended session, or the reason there is none (same rules as GET /sessions/:id/recording). */
async function endedRecording(services: Services, id: string): Promise<{ name: RecordingName; info: RecordingInfo }> {
  const session = await services.sessions.get(id);
  // The name comes from the row, accepted only as `YYYY/MM/DD/<this session's UUID>.cast` (rule 7).
  if (!services.sessions.recordingOf(session)) throw new NotFoundError('this session has no recording', { reason: 'no_recording' });
  const rec = await services.sessions.recording(session);
  if (!rec) throw new NotFoundError('the recording file is missing', { reason: 'recording_file_missing' });
  if (session.status === 'active') throw new ConflictError('the recording is still being written; fetch it whole', { reason: 'recording_active' });
  return rec;
}

function segmentUrl(n: number, idle: number | undefined): string {
  return idle === undefined ? `segments/${n}` : `segments/${n}?idle=${idle}`;
}

/**
 * The index of a segmented recording, as asciinema-player (`format: "segmented"`) reads it,
 * plus `gaps` (recording time, for mapping command offsets when idle time is skipped) and
 * `idleTimeLimit`. Segment URLs are relative to this one.
 */
function presentIndex(index: SegmentIndex, idle: number | undefined) {
  const compress = idleCompressor(index.gaps, idle ?? null);
  return {
    version: 1,
    duration: compress(index.duration),
    term: { cols: index.cols, rows: index.rows },
    markers: index.markers.map(([t, label]) => [compress(t), label] as const),
    segments: index.segments.map((s, n) => ({ start: compress(s.start), url: segmentUrl(n, idle) })),
    gaps: index.gaps,
    idleTimeLimit: idle ?? null,
    recordingDuration: index.duration,
  };
}

export const recordingSegmentRoutes: AnyRoute[] = [
  route({
    method: 'get', path: '/sessions/:id/recording/index', tag: 'sessions', access: 'audit',
    summary: 'The recording cut into segments for asciinema-player (format "segmented"); built once, cached beside the recording',
    params: idParams, query: idleQuery,
    handler: async ({ params, query, res, services }) => {
      const rec = await endedRecording(services, params.id);
      const file = rec.name;
      const index = await services.sessions.segments.index(file, rec.info);
      res.setHeader('Cache-Control', 'private, no-store');
      return presentIndex(index, query.idle);
    },
  }),
  route({
    method: 'get', path: '/sessions/:id/recording/segments/:n', tag: 'sessions', access: 'audit',
    summary: 'One segment of a recording: the screen at its start and its events',
    params: idParams.extend({ n: z.coerce.number().int().min(0).max(1_000_000) }), query: idleQuery,
    handler: async ({ params, query, req, res, services }) => {
      const rec = await endedRecording(services, params.id);
      const file = rec.name;
      const index = await services.sessions.segments.index(file, rec.info);
      const entry = index.segments[params.n];
      if (!entry) throw new NotFoundError('no such segment', { reason: 'segment_not_found' });
      res.setHeader('Cache-Control', 'private, no-store');
      res.setHeader('Vary', 'Accept-Encoding');
      if (query.idle !== undefined || !req.acceptsEncodings('gzip')) {
        return services.sessions.segments.segment(file, entry, idleCompressor(index.gaps, query.idle ?? null));
      }
      // Stored gzipped: sent as is, no work per request.
      const gz = await services.sessions.segments.segmentGzip(file, entry);
      res.status(200).setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Content-Encoding', 'gzip');
      res.setHeader('Content-Length', String(gz.length));
      res.end(gz);
      return RESPONDED;
    },
  }),
];
