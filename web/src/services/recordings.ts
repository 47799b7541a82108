import { api } from './api.ts';

export const recordingsService = {
  /** The session's asciicast v2 recording, whole, as text. */
  text: (sessionId: string) => api.getText(`/sessions/${sessionId}/recording`),
};
