import type { Readable } from 'node:stream';
import { TerminalReplay, parseSize, readCast } from './terminalReplay.ts';

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
 * One batched pass (terminalReplay.ts), the same replay that builds the snapshots of
 * segmented playback. With `from`, `recording` holds the events after that screen (no header):
 * how the live view goes on from a checkpoint of a recording whose start has left memory.
 */
export async function screenFromCast(recording: Readable | null, from?: Screen): Promise<Screen> {
  let replay: TerminalReplay | null = null;
  let t = from?.t ?? 0;
  if (from) {
    replay = new TerminalReplay(from.cols, from.rows);
    replay.write(from.data);
  }
  if (recording) {
    for await (const item of readCast(recording, { headerless: from !== undefined })) {
      if (!('code' in item)) {
        replay = new TerminalReplay(item.cols, item.rows);
        continue;
      }
      replay ??= new TerminalReplay(80, 24);
      t = item.t;
      if (item.code === 'o') replay.write(item.data);
      else if (item.code === 'r') {
        const size = parseSize(item.data);
        if (size) await replay.resize(size.cols, size.rows);
      }
    }
  }
  replay ??= new TerminalReplay(80, 24);
  const snap = await replay.snapshot();
  replay.dispose();
  return { cols: snap.cols, rows: snap.rows, data: snap.init, t };
}
