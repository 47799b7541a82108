// A web terminal client for tests: the websocket the terminal page opens (/ws/terminal), with
// the session cookie and the page's Origin, its output as a screen, and its control messages.
import WebSocket from 'ws';
import { eventually } from '../gatewayFixture.ts';

export interface TerminalParams {
  asset?: string;
  systemUser?: string;
  cols?: number;
  rows?: number;
  resume?: string;
}

export type Control =
  | { type: 'ready'; resume: string; reconnectSeconds: number }
  | { type: 'session'; id: string }
  | { type: 'exit'; status: number | null; signal: string | null; reason: string | null };

export function terminalUrl(baseUrl: string, params: TerminalParams): string {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
  return `${baseUrl.replace(/^http/, 'ws')}/ws/terminal?${q}`;
}

/** The HTTP status a refused upgrade answers with (or 101 when it is accepted, and then closed). */
export function upgradeStatus(baseUrl: string, params: TerminalParams, headers: Record<string, string>): Promise<number> {
  return wsUpgradeStatus(terminalUrl(baseUrl, params), headers);
}

/** The HTTP status a websocket upgrade on `url` answers (101 when accepted, then closed). */
export function wsUpgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', (err) => reject(err));
  });
}

export class WebTerminal {
  output = '';
  readonly controls: Control[] = [];
  closeCode: number | null = null;
  closeReason = '';
  readonly closed: Promise<void>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.output += Buffer.from(data as Buffer).toString('utf8');
      else this.controls.push(JSON.parse(String(data)) as Control);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      resolve();
    }));
  }

  static open(baseUrl: string, cookie: string, params: TerminalParams): Promise<WebTerminal> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(terminalUrl(baseUrl, params), { headers: { cookie, origin: baseUrl } });
      const t = new WebTerminal(ws);
      ws.once('open', () => resolve(t));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** Resolves once the socket has closed; fails (instead of hanging) when it has not within `ms`. */
  async closedWithin(ms = 15_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`the web terminal was not closed within ${ms} ms; it shows:\n${this.output.slice(-1000)}`)), ms); });
    try {
      await Promise.race([this.closed, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits until the output shows `pattern` (after `from`), failing with the screen when it does not. */
  async waitFor(pattern: RegExp | string, from = 0, ms = 15_000): Promise<string> {
    const seen = (): boolean => (typeof pattern === 'string' ? this.output.indexOf(pattern, from) >= 0 : pattern.test(this.output.slice(from)));
    await eventually(async () => seen(), (ok) => ok, ms);
    if (!seen()) throw new Error(`the terminal did not show ${String(pattern)}; it shows:\n${this.output.slice(-2000)}`);
    return this.output;
  }

  /** Types `text` and waits for `expect` in what follows. */
  async send(text: string, expect?: RegExp | string): Promise<void> {
    const from = this.output.length;
    this.ws.send(Buffer.from(text, 'utf8'), { binary: true });
    if (expect !== undefined) await this.waitFor(expect, from);
  }

  resize(cols: number, rows: number): void {
    this.ws.send(JSON.stringify({ type: 'resize', cols, rows }));
  }

  async control<T extends Control['type']>(type: T, ms = 15_000): Promise<Extract<Control, { type: T }>> {
    const found = await eventually(async () => this.controls.find((c) => c.type === type), (c) => c !== undefined, ms);
    if (!found) throw new Error(`no '${type}' message; got ${JSON.stringify(this.controls)}; screen:\n${this.output.slice(-1000)}`);
    return found as Extract<Control, { type: T }>;
  }
}
