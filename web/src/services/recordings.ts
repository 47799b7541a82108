import { api, apiUrl } from './api.ts';

/**
 * The index of a segmented recording (asciinema-player's `format: "segmented"`), with Bastion's
 * additions: `gaps`, the pauses longer than a second in recording time (seconds), so that command
 * offsets map to player time when idle time is skipped, and the recording's own duration.
 */
export interface RecordingIndex {
  version: 1;
  duration: number;
  term: { cols: number; rows: number };
  segments: { start: number; url: string }[];
  gaps: [number, number][];
  idleTimeLimit: number | null;
  recordingDuration: number;
}

export const recordingsService = {
  /** The session's asciicast v2 recording, whole, as text (sessions still being recorded). */
  text: (sessionId: string) => api.getText(`/sessions/${sessionId}/recording`),
  /** The segment index of an ended session's recording; 409 while it is still being written. */
  index: (sessionId: string) => api.get<RecordingIndex>(`/sessions/${sessionId}/recording/index`),
  /** The URL the player loads the index from; with `idle`, pauses are shortened to that many seconds by the server. */
  indexUrl: (sessionId: string, idle: number | null) => apiUrl(`/sessions/${sessionId}/recording/index`, { idle }),
};
