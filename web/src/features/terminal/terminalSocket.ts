import { wsUrl } from '../../services/api.ts';

/** What the server says besides output (JSON text frames); output comes as binary frames. */
export type TerminalMessage =
  | { type: 'ready'; resume: string; reconnectSeconds: number }
  | { type: 'session'; id: string }
  | { type: 'exit'; status: number | null; signal: string | null; reason: string | null };

export type TerminalStatus =
  | { kind: 'connecting' }
  | { kind: 'open' }
  | { kind: 'reconnecting'; attempt: number }
  | { kind: 'ended'; reason: string | null; status: number | null; signal: string | null }
  /** The socket was refused or closed by the server without an exit (403, revoked, gone). */
  | { kind: 'closed'; code: number; reason: string };

export interface TerminalTarget {
  asset: string;
  systemUser: string | null;
}

export interface TerminalHandlers {
  output(bytes: Uint8Array): void;
  status(s: TerminalStatus): void;
  session(id: string): void;
}

/** Close codes after which reconnecting is pointless: normal end, policy (revoked), replaced by another tab. */
const FINAL_CODES = new Set([1000, 1008, 4000]);

/**
 * The web terminal's websocket (/ws/terminal), with reconnection: a socket that drops without
 * the server closing it is opened again with the resume token while the server keeps the shell
 * (its `reconnectSeconds`), so a network blip does not lose the session.
 */
export class TerminalConnection {
  #ws: WebSocket | null = null;
  #resume: string | null = null;
  #reconnectMs = 0;
  #droppedAt = 0;
  #attempt = 0;
  #done = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  readonly #encoder = new TextEncoder();

  constructor(private readonly target: TerminalTarget, private size: { cols: number; rows: number }, private readonly h: TerminalHandlers) {
    this.#open();
  }

  #url(): string {
    const q = new URLSearchParams();
    if (this.#resume) q.set('resume', this.#resume);
    else {
      q.set('asset', this.target.asset);
      if (this.target.systemUser) q.set('systemUser', this.target.systemUser);
    }
    q.set('cols', String(this.size.cols));
    q.set('rows', String(this.size.rows));
    return wsUrl(`/ws/terminal?${q}`);
  }

  #open(): void {
    const ws = new WebSocket(this.#url());
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    let opened = false;
    this.h.status(this.#attempt > 0 ? { kind: 'reconnecting', attempt: this.#attempt } : { kind: 'connecting' });
    ws.onopen = () => {
      opened = true;
      this.#attempt = 0;
      this.h.status({ kind: 'open' });
      // The window may have changed while the socket was away.
      this.resize(this.size.cols, this.size.rows, true);
    };
    ws.onmessage = (e: MessageEvent<ArrayBuffer | string>) => {
      if (typeof e.data !== 'string') {
        this.h.output(new Uint8Array(e.data));
        return;
      }
      let m: TerminalMessage;
      try { m = JSON.parse(e.data) as TerminalMessage; } catch { return; }
      if (m.type === 'ready') {
        this.#resume = m.resume;
        this.#reconnectMs = m.reconnectSeconds * 1000;
      } else if (m.type === 'session') this.h.session(m.id);
      else if (m.type === 'exit') {
        this.#done = true;
        this.h.status({ kind: 'ended', reason: m.reason, status: m.status, signal: m.signal });
      }
    };
    ws.onclose = (e) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      if (this.#done) return;
      const canResume = opened || this.#attempt > 0;
      if (!FINAL_CODES.has(e.code) && this.#resume && this.#reconnectMs > 0 && canResume) {
        if (this.#attempt === 0) this.#droppedAt = Date.now();
        if (Date.now() - this.#droppedAt < this.#reconnectMs) {
          this.#attempt++;
          this.h.status({ kind: 'reconnecting', attempt: this.#attempt });
          this.#timer = setTimeout(() => this.#open(), Math.min(500 * this.#attempt, 3000));
          return;
        }
      }
      this.#done = true;
      this.h.status({ kind: 'closed', code: e.code, reason: e.reason });
    };
  }

  /** Keystrokes (and pastes) as the terminal produced them. */
  send(data: string): void {
    const ws = this.#ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(this.#encoder.encode(data));
  }

  resize(cols: number, rows: number, force = false): void {
    if (!force && cols === this.size.cols && rows === this.size.rows) return;
    this.size = { cols, rows };
    const ws = this.#ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'resize', cols, rows }));
  }

  /** Drops the socket without closing it cleanly: what a network failure does (used to test reconnection). */
  drop(): void {
    this.#ws?.close(4001, 'dropped');
  }

  close(): void {
    this.#done = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#ws?.close(1000, 'tab closed');
    this.#ws = null;
  }
}
