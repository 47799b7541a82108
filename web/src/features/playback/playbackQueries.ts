import type { FetchQueryOptions } from '@tanstack/react-query';
import { sessionsService } from '../../services/sessions.ts';
import { recordingsService } from '../../services/recordings.ts';
import { ApiError } from '../../services/api.ts';
import type { Cast } from './castParser.ts';
import { pausesOf, type Pause } from './timeline.ts';

// What the playback page asks the server for, in one place: the page reads these queries, and
// the router starts them together with the page's code (see app/features.tsx), so that the
// requests do not wait for the player's chunk to download and run.

/**
 * What the player plays: an ended session's recording in segments (the player fetches the index,
 * then one segment per position; idle time is skipped by the server), or a recording still being
 * written, fetched whole and parsed by the page.
 */
export type PlayerRecording =
  | { kind: 'segmented'; indexUrl: (idleTimeLimit: number | null) => string }
  | { kind: 'full'; cast: Cast };

export interface LoadedRecording {
  player: PlayerRecording;
  /** Pauses longer than a second (recording time, ms), to map command offsets when idle time is skipped. */
  pauses: Pause[];
  durationMs: number;
}

/**
 * An ended session's recording as a segment index (small, whatever the recording's size: the
 * player then fetches one segment at a time); a session still being recorded, whole.
 */
async function loadRecording(id: string): Promise<LoadedRecording> {
  try {
    const index = await recordingsService.index(id);
    performance.mark('playback:downloaded');
    return {
      player: { kind: 'segmented', indexUrl: (idle) => recordingsService.indexUrl(id, idle) },
      pauses: index.gaps.map(([a, b]) => [a * 1000, b * 1000]),
      durationMs: index.recordingDuration * 1000,
    };
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 409)) throw err;
  }
  const [text, { parseCast }] = await Promise.all([recordingsService.text(id), import('./castParser.ts')]);
  performance.mark('playback:downloaded');
  const cast = parseCast(text);
  return { player: { kind: 'full', cast }, pauses: pausesOf(cast.events), durationMs: cast.durationMs };
}

// Prefetched data counts as fresh for a few seconds, so the page does not ask again on mount.
const FRESH_MS = 5_000;

export const playbackQueries = {
  session: (id: string) => ({ queryKey: ['sessions', id], queryFn: () => sessionsService.get(id), staleTime: FRESH_MS }),
  commands: (id: string) => ({ queryKey: ['sessions', id, 'commands'], queryFn: () => sessionsService.commands(id), staleTime: FRESH_MS }),
  recording: (id: string) => ({
    queryKey: ['sessions', id, 'recording'],
    queryFn: () => loadRecording(id),
    staleTime: Infinity, gcTime: 60_000, retry: false,
  }),
};

/** Every query of the playback page of session `id`, for prefetching. */
export function playbackPrefetch(id: string): FetchQueryOptions[] {
  return [playbackQueries.session(id), playbackQueries.commands(id), playbackQueries.recording(id)] as FetchQueryOptions[];
}
