import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import headless from '@xterm/headless';
import serialize from '@xterm/addon-serialize';

const { Terminal } = headless;
const { SerializeAddon } = serialize;

export interface Screen {
  cols: number;
  rows: number;
  /** Escape sequences that redraw the screen as it is now. */
  data: string;
  /** Time of the last event replayed, in seconds since the session started. */
  t: number;
}

/**
 * The current screen of a session, rebuilt from its recording so far with a headless
 * terminal, so a watcher starts from what the operator sees rather than from byte zero.
 */
export async function screenFromCast(file: string | null): Promise<Screen> {
  let cols = 80;
  let rows = 24;
  let t = 0;
  let term: InstanceType<typeof Terminal> | null = null;
  const write = (data: string) => new Promise<void>((resolve) => term!.write(data, resolve));
  if (file) {
    const input = createReadStream(file);
    const lines = createInterface({ input: file.endsWith('.gz') ? input.pipe(createGunzip()) : input, crlfDelay: Infinity });
    let first = true;
    try {
      for await (const line of lines) {
        if (first) {
          first = false;
          const h = JSON.parse(line) as { width?: number; height?: number };
          cols = h.width ?? cols;
          rows = h.height ?? rows;
          term = new Terminal({ cols, rows, scrollback: 0, allowProposedApi: true });
          continue;
        }
        let ev: [number, string, string];
        try { ev = JSON.parse(line) as [number, string, string]; } catch { continue; }
        t = ev[0];
        if (ev[1] === 'o') await write(ev[2]);
        else if (ev[1] === 'r') {
          const m = /^(\d+)x(\d+)$/.exec(ev[2]);
          if (m) { cols = Number(m[1]); rows = Number(m[2]); term!.resize(cols, rows); }
        }
      }
    } catch {
      // A recording being written can end mid-line; what was read is the screen.
    }
  }
  term ??= new Terminal({ cols, rows, scrollback: 0, allowProposedApi: true });
  const addon = new SerializeAddon();
  term.loadAddon(addon as never);
  const data = addon.serialize();
  term.dispose();
  return { cols, rows, data, t };
}
