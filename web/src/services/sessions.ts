import { api, apiUrl, mapPage, type ListPage } from './api.ts';
import { bool, num, str, strOrNull, type Json, type ListParams } from './common.ts';
import { makeFileTransfer, type FileTransfer } from './audit.ts';

export interface Session {
  id: string;
  user: { id: string | null; username: string };
  asset: { id: string | null; name: string };
  systemUser: { id: string | null; username: string };
  kind: string;
  clientAddress: string;
  status: string;
  active: boolean;
  startedAt: string | null;
  endedAt: string | null;
  bytesIn: number;
  bytesOut: number;
  endReason: string | null;
  terminatedBy: string | null;
  recordingUrl: string | null;
  /** The recording does not hold the whole session (it failed, or was truncated at its size limit). */
  recordingIncomplete: boolean;
  /** File-transfer rows of the session: an scp, sftp or rsync session is its transfers. */
  transfers: number;
  /** It only moved files (sftp, or scp/rsync over exec): no commands, nothing to play; the server decides. */
  transferOnly: boolean;
  /** Transfer-only sessions folded under this shell (the server's rule), oldest first; empty when not asked for. */
  folded: Session[];
  /** The shell a transfer-only session is folded under (detail only). */
  foldedInto: string | null;
}

/** A session that only moved files (scp, sftp, rsync): it has transfers, not commands or a screen to play. */
export const isTransferSession = (s: Pick<Session, 'transferOnly'>) => s.transferOnly;

const who = (v: unknown, nameKey: string) => {
  const j = (v ?? {}) as Json;
  return { id: strOrNull(j.id), [nameKey]: str(j[nameKey]) };
};

export function makeSession(j: Json): Session {
  return {
    id: str(j.id),
    user: who(j.user, 'username') as Session['user'],
    asset: who(j.asset, 'name') as Session['asset'],
    systemUser: who(j.systemUser, 'username') as Session['systemUser'],
    kind: str(j.kind), clientAddress: str(j.clientAddress), status: str(j.status), active: bool(j.active),
    startedAt: strOrNull(j.startedAt), endedAt: strOrNull(j.endedAt), bytesIn: num(j.bytesIn), bytesOut: num(j.bytesOut),
    endReason: strOrNull(j.endReason), terminatedBy: strOrNull(j.terminatedBy), recordingUrl: strOrNull(j.recordingUrl),
    recordingIncomplete: bool(j.recordingIncomplete), transfers: num(j.transfers), transferOnly: bool(j.transferOnly),
    folded: Array.isArray(j.folded) ? (j.folded as Json[]).map(makeSession) : [], foldedInto: strOrNull(j.foldedInto),
  };
}

export interface CommandRecord {
  id: string;
  session: string;
  user: string;
  asset: string;
  systemUser: string;
  input: string;
  output: string;
  risk: string;
  /** Ran with the terminal's echo off: `input` gives only its length (the recording shows the screen). */
  notEchoed: boolean;
  /** Milliseconds since the session started: where the command is in the recording. */
  offsetMs: number;
  createdAt: string | null;
}

export function makeCommand(j: Json): CommandRecord {
  return {
    id: str(j.id), session: str(j.session), user: str(((j.user ?? {}) as Json).username), asset: str(((j.asset ?? {}) as Json).name),
    systemUser: str(((j.systemUser ?? {}) as Json).username), input: str(j.input), output: str(j.output), risk: str(j.risk),
    notEchoed: bool(j.notEchoed), offsetMs: num(j.offsetMs), createdAt: strOrNull(j.createdAt),
  };
}

export interface SessionListParams extends ListParams {
  user?: string;
  asset?: string;
  active?: boolean;
  kind?: string;
  search?: string;
  from?: string;
  to?: string;
  /** Transfer-only sessions under their shell (`folded`) instead of rows of their own. */
  fold?: boolean;
}

export interface CommandSearchParams extends ListParams {
  user?: string;
  asset?: string;
  systemUser?: string;
  from?: string;
  to?: string;
}

/** The session detail page: recording, commands, file transfers and facts in one place. */
export const sessionPath = (sessionId: string) => `/sessions/${sessionId}`;

/** The CSV export of the sessions or the command log with the filters on screen (no paging), as a plain download link. */
export function exportUrl(path: '/sessions' | '/commands', params: SessionListParams | CommandSearchParams): string {
  // The export is one row per session: never folded.
  const { limit: _l, offset: _o, fold: _f, ...filters } = params as SessionListParams & CommandSearchParams;
  return apiUrl(path, { ...filters, format: 'csv' });
}

/** Where a session's playback page is, optionally at a moment (seconds from the start). */
export function playbackPath(sessionId: string, seconds?: number): string {
  return seconds === undefined ? `/sessions/${sessionId}/play` : `/sessions/${sessionId}/play?t=${Math.max(0, Math.floor(seconds * 10) / 10)}`;
}

export const sessionsService = {
  async get(id: string): Promise<Session> { return makeSession(await api.get<Json>(`/sessions/${id}`)); },
  async searchCommands(q: CommandSearchParams): Promise<ListPage<CommandRecord>> { return mapPage(await api.get<ListPage<Json>>('/commands', { ...q }), makeCommand); },
  async list(q: SessionListParams): Promise<ListPage<Session>> { return mapPage(await api.get<ListPage<Json>>('/sessions', { ...q }), makeSession); },
  /** The file transfers of a session and of the sessions folded under it. */
  async transfers(id: string): Promise<ListPage<FileTransfer>> { return mapPage(await api.get<ListPage<Json>>(`/sessions/${id}/transfers`, { limit: 1000 }), makeFileTransfer); },
  async commands(id: string): Promise<ListPage<CommandRecord>> { return mapPage(await api.get<ListPage<Json>>(`/sessions/${id}/commands`, { limit: 1000 }), makeCommand); },
  terminate: (id: string) => api.post<unknown>(`/sessions/${id}/terminate`),
};
