import { open, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { Logger } from '../logger.ts';
import { TerminalReplay, parseSize, readCast, type TerminalSnapshot } from './terminalReplay.ts';
import { SegmentBuilder } from './segmentBuilder.ts';
import { NotFoundError } from '../errors.ts';
import type { RecordingInfo, RecordingName, RecordingStore } from '../recordings/recordingStore.ts';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/**
 * Segmented recordings: asciinema-player 3.18's `format: "segmented"` source. A recording is
 * cut into segments of about SEGMENT_BYTES of output (or SEGMENT_SECONDS); each starts with a
 * snapshot of the terminal at its start, so the player opens by fetching a small index and one
 * segment, and seeks by fetching one segment and replaying at most one segment's output.
 *
 * Built in one pass over the .cast with a headless terminal, once, into a sidecar the
 * RecordingStore keeps beside the recording (core/recordings: named only from its UUID, rule 7):
 *   [gzip(segment 0 JSON)][gzip(segment 1 JSON)]…[index JSON]["BSEG1 " + 16-digit index offset + "\n"]
 * The index records the size and mtime of the .cast it was built from; a sidecar that does not
 * match its .cast any more is rebuilt.
 */
export const SEGMENT_BYTES = 512 * 1024;
export const SEGMENT_SECONDS = 300;
/** Pauses longer than this are listed in the index, so that idle time can be skipped (limits ≥ this). */
export const MIN_IDLE_LIMIT = 1;
const TRAILER = 23;
const FORMAT = 1;

export interface SegmentEntry {
  /** Recording time (s) of the segment's first event; 0 for the first segment. */
  start: number;
  offset: number;
  length: number;
}

export interface SegmentIndex {
  format: number;
  source: { size: number; mtimeMs: number };
  cols: number;
  rows: number;
  /** Time (s) of the last event. */
  duration: number;
  /** [time before, time after] (s) of every pause longer than MIN_IDLE_LIMIT, from t = 0. */
  gaps: [number, number][];
  markers: [number, string][];
  segments: SegmentEntry[];
}

type Event = [number, string, string];

/** Reads a byte range of a sidecar (`last`: its last N bytes), with its size; null when there is none. */
export type SidecarReader = (range: { start: number; length: number } | { last: number }) => Promise<{ data: Buffer; size: number } | null>;

/** Maps recording time to player time when pauses longer than `limit` seconds are shortened to it (asciinema's idleTimeLimit). */
export function idleCompressor(gaps: readonly [number, number][], limit: number | null): (t: number) => number {
  if (limit === null) return (t) => t;
  const ends: number[] = [];
  const shifts: number[] = [];
  let shift = 0;
  for (const [a, b] of gaps) {
    const delta = b - a - limit;
    if (delta <= 0) continue;
    shift += delta;
    ends.push(b);
    shifts.push(shift);
  }
  return (t) => {
    let lo = 0;
    let hi = ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ends[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    const s = lo === 0 ? 0 : shifts[lo - 1]!;
    return Math.round((t - s) * 1e6) / 1e6;
  };
}

interface Pending {
  start: number;
  snapshot: TerminalSnapshot;
  lines: string[];
  lastT: number;
}

/**
 * Builds the sidecar of the recording in the local file `castFile` into `outFile` (made by the
 * store, which keeps it once done) and returns its index. `source`: the stored recording's size
 * and mtime, recorded in the index (default: the local file's).
 */
export async function buildSegments(castFile: string, outFile: string, opts: { segmentBytes?: number; segmentSeconds?: number; source?: RecordingInfo } = {}): Promise<SegmentIndex> {
  const maxBytes = opts.segmentBytes ?? SEGMENT_BYTES;
  const maxSeconds = opts.segmentSeconds ?? SEGMENT_SECONDS;
  const before = opts.source ?? await stat(castFile);
  const fh = await open(outFile, 'w', 0o600);
  let offset = 0;
  const index: SegmentIndex = {
    format: FORMAT, source: { size: before.size, mtimeMs: before.mtimeMs }, cols: 80, rows: 24, duration: 0, gaps: [], markers: [], segments: [],
  };
  let replay: TerminalReplay | null = null;
  let current: Pending | null = null;
  /** A finished segment held back until the next one has begun after its start (the player wants strictly increasing starts). */
  let held: Pending | null = null;
  let prevT = 0;
  let segBytes = 0;

  const writeSegment = async (p: Pending) => {
    const json = `{"snapshot":${JSON.stringify(p.snapshot)},"events":[${p.lines.join(',')}]}`;
    const gz = await gzipAsync(json, { level: 5 });
    await fh.write(gz, 0, gz.length, offset);
    index.segments.push({ start: p.start, offset, length: gz.length });
    offset += gz.length;
  };
  const merge = (into: Pending, from: Pending) => {
    for (const l of from.lines) into.lines.push(l);
    into.lastT = from.lastT;
  };

  try {
    for await (const item of readCast(castFile)) {
      if (!('code' in item)) {
        index.cols = item.cols;
        index.rows = item.rows;
        replay = new TerminalReplay(item.cols, item.rows);
        continue;
      }
      if (!replay) break;
      const { code, data } = item;
      if (code !== 'o' && code !== 'i' && code !== 'r' && code !== 'm') continue;
      // Times only go forward, from 0; a line that needed fixing is written anew.
      const t = Math.max(item.t, prevT, 0);
      const line = t === item.t ? item.line.trim() : JSON.stringify([t, code, data] satisfies Event);
      if (t - prevT > MIN_IDLE_LIMIT) index.gaps.push([prevT, t]);
      const cut = current !== null && t > current.lastT && (segBytes >= maxBytes || t - current.start >= maxSeconds);
      if (current === null || cut) {
        const snapshot: TerminalSnapshot = current === null ? { cols: replay.cols, rows: replay.rows, init: '' } : await replay.snapshot();
        if (current) {
          if (held) {
            if (current.start > held.start) await writeSegment(held);
            else merge(current, held);
          }
          held = current;
        }
        current = { start: current === null ? 0 : t, snapshot, lines: [], lastT: t };
        segBytes = 0;
      }
      current.lines.push(line);
      current.lastT = t;
      segBytes += data.length;
      prevT = t;
      if (code === 'o') replay.write(data);
      else if (code === 'r') {
        const size = parseSize(data);
        if (size) await replay.resize(size.cols, size.rows);
      } else if (code === 'm') index.markers.push([t, data]);
    }
    replay ??= new TerminalReplay(index.cols, index.rows);
    // The player needs at least one event; an empty recording still shows an empty screen.
    current ??= { start: 0, snapshot: { cols: index.cols, rows: index.rows, init: '' }, lines: [JSON.stringify([0, 'o', ''])], lastT: 0 };
    index.duration = current.lastT;
    // The last segment must start before the end: one made only of events at the very end joins the previous one.
    if (held && current.start >= index.duration) {
      merge(held, current);
      current = held;
      held = null;
    }
    if (held) await writeSegment(held);
    await writeSegment(current);
    const header = Buffer.from(JSON.stringify(index));
    await fh.write(header, 0, header.length, offset);
    const trailer = Buffer.from(`BSEG1 ${String(offset).padStart(16, '0')}\n`);
    await fh.write(trailer, 0, trailer.length, offset + header.length);
    await fh.close();
    return index;
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  } finally {
    replay?.dispose();
  }
}

/** Reads a sidecar's index, or null when it is missing, unreadable or of another format. */
export async function readSegmentIndex(read: SidecarReader): Promise<SegmentIndex | null> {
  try {
    const tail = await read({ last: TRAILER });
    if (!tail || tail.size < TRAILER || tail.data.length !== TRAILER) return null;
    const m = /^BSEG1 (\d{16})\n$/.exec(tail.data.toString('latin1'));
    if (!m) return null;
    const start = Number(m[1]);
    const end = tail.size - TRAILER;
    if (start > end || end - start > 64 << 20) return null;
    const body = await read({ start, length: end - start });
    if (!body || body.data.length !== end - start) return null;
    const index = JSON.parse(body.data.toString('utf8')) as SegmentIndex;
    return index.format === FORMAT ? index : null;
  } catch {
    return null;
  }
}

/** The gzipped JSON of one segment, as stored. */
export async function readSegmentGzip(read: SidecarReader, entry: SegmentEntry): Promise<Buffer> {
  const r = await read({ start: entry.offset, length: entry.length });
  if (!r || r.data.length !== entry.length) throw new Error('segment file is truncated');
  return r.data;
}

/** One segment as the player reads it, times shifted by `compress` (idle time skipped). */
export async function readSegment(read: SidecarReader, entry: SegmentEntry, compress: (t: number) => number): Promise<{ snapshot: TerminalSnapshot; events: Event[] }> {
  const json = (await gunzipAsync(await readSegmentGzip(read, entry))).toString('utf8');
  const seg = JSON.parse(json) as { snapshot: TerminalSnapshot; events: Event[] };
  for (const e of seg.events) e[0] = compress(e[0]);
  return seg;
}

/** Indexes kept in memory, so that opening and seeking a recording read no index from the store twice. */
const CACHED_INDEXES = 64;

/**
 * The segmented form of recordings: built once per recording, on first request or in the
 * background when a session ends, and read from the sidecar afterwards.
 */
export class RecordingSegments {
  readonly #building = new Map<string, Promise<SegmentIndex>>();
  readonly #cache = new Map<string, SegmentIndex>();
  #queue: Promise<void> = Promise.resolve();
  readonly #builder: SegmentBuilder;

  constructor(private readonly store: RecordingStore, private readonly log?: Logger) {
    this.#builder = new SegmentBuilder((castFile, outFile, source) => buildSegments(castFile, outFile, { source }), log);
  }

  /** The index of a recording's segments, building (or rebuilding) the sidecar when it is missing or stale; `known`: its stat, just read. */
  async index(name: RecordingName, known?: RecordingInfo): Promise<SegmentIndex> {
    const source = known ?? await this.store.stat(name);
    if (!source) throw new NotFoundError('the recording file is missing', { reason: 'recording_file_missing' });
    const fresh = (i: SegmentIndex | null | undefined): i is SegmentIndex => !!i && i.source.size === source.size && i.source.mtimeMs === source.mtimeMs;
    const remembered = this.#cache.get(name);
    if (fresh(remembered)) return remembered;
    const cached = await readSegmentIndex(this.#reader(name));
    if (fresh(cached)) return this.#remember(name, cached);
    return this.#remember(name, await this.#build(name, source));
  }

  /** One segment, times shifted by `compress`. */
  segment(name: RecordingName, entry: SegmentEntry, compress: (t: number) => number): ReturnType<typeof readSegment> {
    return readSegment(this.#reader(name), entry, compress);
  }

  /** One segment's gzipped JSON, as stored. */
  segmentGzip(name: RecordingName, entry: SegmentEntry): Promise<Buffer> {
    return readSegmentGzip(this.#reader(name), entry);
  }

  /** Builds the sidecar in the background, one recording at a time; failures are only logged. */
  prebuild(name: RecordingName): void {
    this.#queue = this.#queue.then(async () => {
      try {
        await this.index(name);
      } catch (err) {
        this.log?.debug({ err }, 'recording segments not prebuilt');
      }
    });
  }

  /** Resolves when the background builds queued so far are done (tests, shutdown). */
  idle(): Promise<void> {
    return this.#queue;
  }

  /** A recording that is deleted: its index is forgotten. */
  forget(name: RecordingName): void {
    this.#cache.delete(name);
  }

  /** Stops the build process; builds still waiting fail. */
  close(): Promise<void> {
    return this.#builder.close();
  }

  #reader(name: RecordingName): SidecarReader {
    return (range) => this.store.readSidecar(name, range);
  }

  #remember(name: RecordingName, index: SegmentIndex): SegmentIndex {
    this.#cache.delete(name);
    this.#cache.set(name, index);
    if (this.#cache.size > CACHED_INDEXES) this.#cache.delete(this.#cache.keys().next().value!);
    return index;
  }

  #build(name: RecordingName, source: RecordingInfo): Promise<SegmentIndex> {
    let p = this.#building.get(name);
    if (!p) {
      const t0 = performance.now();
      p = this.store.buildSidecar(name, (castFile, outFile) => this.#builder.build(castFile, outFile, source)).then((index) => {
        this.log?.info({ segments: index.segments.length, bytes: index.source.size, ms: Math.round(performance.now() - t0) }, 'recording segments built');
        return index;
      }).finally(() => this.#building.delete(name));
      this.#building.set(name, p);
    }
    return p;
  }
}
