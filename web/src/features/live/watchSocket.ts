import { wsUrl } from '../../services/api.ts';

export type WatchMessage =
  | { type: 'init'; cols: number; rows: number; data: string }
  | { type: 'output'; data: string }
  | { type: 'resize'; cols: number; rows: number }
  | { type: 'ended' };

export interface WatchHandlers {
  onMessage: (m: WatchMessage) => void;
  onOpen?: () => void;
  /** The socket is gone: `ended` tells whether the server said the session ended. */
  onClose: (info: { ended: boolean; code: number }) => void;
}

/** Opens the read-only live view socket of a session; nothing is ever sent on it. Returns a closer. */
export function watchSession(sessionId: string, h: WatchHandlers): () => void {
  const ws = new WebSocket(wsUrl(`/ws/sessions/${encodeURIComponent(sessionId)}/watch`));
  let ended = false;
  let closed = false;
  ws.onopen = () => h.onOpen?.();
  ws.onmessage = (e) => {
    let m: WatchMessage;
    try { m = JSON.parse(String(e.data)) as WatchMessage; } catch { return; }
    if (m.type === 'ended') ended = true;
    h.onMessage(m);
  };
  ws.onclose = (e) => {
    if (closed) return;
    closed = true;
    h.onClose({ ended, code: e.code });
  };
  return () => {
    closed = true;
    ws.close(1000, 'watcher left');
  };
}
