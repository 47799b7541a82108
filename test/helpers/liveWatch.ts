// The live view (/ws/sessions/:id/watch) as the web app opens it, for tests: its messages in
// order, and the screen its init message draws.
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import headless from '@xterm/headless';

export interface WatchMessage { type: string; cols?: number; rows?: number; data?: string }

/** A live-view websocket (/ws/sessions/:id/watch) as the web app opens it. */
export async function openWatch(baseUrl: string, sessionId: string, cookie: string): Promise<{ next(): Promise<WatchMessage>; until(done: (output: string) => boolean): Promise<string>; close(): void }> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws/sessions/${sessionId}/watch`, { headers: { cookie } });
  const queue: WatchMessage[] = [];
  let wake: (() => void) | null = null;
  ws.on('message', (d) => { queue.push(JSON.parse(String(d)) as WatchMessage); wake?.(); });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  const next = async (): Promise<WatchMessage> => {
    for (let i = 0; i < 600 && queue.length === 0; i++) await new Promise<void>((r) => { wake = r; setTimeout(r, 100); });
    assert.ok(queue.length > 0, 'no message from the live view');
    return queue.shift()!;
  };
  return {
    next,
    async until(done) {
      let out = '';
      while (!done(out)) {
        const m = await next();
        if (m.type === 'output') out += m.data;
      }
      return out;
    },
    close: () => ws.close(),
  };
}

/** The rows of a live view's init screen, as a terminal shows them. */
export async function screenText(init: WatchMessage): Promise<string[]> {
  const term = new headless.Terminal({ cols: init.cols!, rows: init.rows!, allowProposedApi: true, logLevel: 'off' });
  await new Promise<void>((resolve) => term.write(init.data!, resolve));
  const lines: string[] = [];
  for (let i = 0; i < term.rows; i++) lines.push(term.buffer.active.getLine(term.buffer.active.viewportY + i)?.translateToString(true) ?? '');
  term.dispose();
  return lines;
}

