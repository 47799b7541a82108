// Recordings as files in a local directory: <dir>/YYYY/MM/DD/<uuid>.cast, 0600 files in 0700
// directories, the segment sidecar beside each as <uuid>.cast.seg.
import { createReadStream, mkdirSync, WriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { notFound, type ByteRange, type RecordingInfo, type RecordingName, type RecordingStore, type RecordingUsage, type RecordingWriter, type Recovery } from './recordingStore.ts';

export class DirectoryRecordingStore implements RecordingStore {
  readonly kind = 'directory';
  readonly location: string;
  readonly readableWhileWriting = true;

  constructor(readonly dir: string) {
    this.dir = path.resolve(dir);
    this.location = this.dir;
  }

  /** The file of a recording. Only names made or checked by recordingStore.ts get here (rule 7). */
  fileOf(name: RecordingName): string {
    const file = path.resolve(this.dir, ...name.split('/'));
    const inside = path.relative(this.dir, file);
    if (!inside || inside.startsWith('..') || path.isAbsolute(inside)) throw new Error('recording name outside the recordings dir');
    return file;
  }

  sidecarOf(name: RecordingName): string {
    return `${this.fileOf(name)}.seg`;
  }

  create(name: RecordingName): RecordingWriter {
    const file = this.fileOf(name);
    try {
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    } catch (err) {
      return failed(err);
    }
    return new FileWriter(file);
  }

  async stat(name: RecordingName): Promise<RecordingInfo | null> {
    const info = await stat(this.fileOf(name)).catch(() => null);
    return info?.isFile() ? { size: info.size, mtimeMs: info.mtimeMs } : null;
  }

  async read(name: RecordingName, range?: ByteRange): Promise<Readable> {
    const file = this.fileOf(name);
    // Opened before returning, so a missing file is a rejection here rather than a stream error later.
    const fh = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? notFound(name) : err;
    });
    return createReadStream('', { fd: fh, ...(range ? { start: range.start, end: range.end } : {}) });
  }

  async buildSidecar<T>(name: RecordingName, build: (castFile: string, outFile: string) => Promise<T>): Promise<T> {
    const out = this.sidecarOf(name);
    // Unique per build: two builds of one recording (two processes, or two requests) never share a temp file.
    const tmp = `${out}.${randomUUID()}.tmp`;
    await writeFile(tmp, '', { mode: 0o600 });
    try {
      const result = await build(this.fileOf(name), tmp);
      await rename(tmp, out);
      return result;
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async readSidecar(name: RecordingName, range: { start: number; length: number } | { last: number }): Promise<{ data: Buffer; size: number } | null> {
    let fh;
    try {
      fh = await open(this.sidecarOf(name), 'r');
    } catch {
      return null;
    }
    try {
      const { size } = await fh.stat();
      const start = 'last' in range ? Math.max(0, size - range.last) : range.start;
      const length = 'last' in range ? size - start : Math.max(0, Math.min(range.length, size - start));
      const data = Buffer.alloc(length);
      const { bytesRead } = await fh.read(data, 0, length, start);
      return { data: data.subarray(0, bytesRead), size };
    } finally {
      await fh.close();
    }
  }

  async removeSidecar(name: RecordingName): Promise<void> {
    await rm(this.sidecarOf(name), { force: true });
  }

  async remove(name: RecordingName): Promise<boolean> {
    const existed = (await this.stat(name)) !== null;
    await rm(this.fileOf(name), { force: true });
    await rm(this.sidecarOf(name), { force: true });
    return existed;
  }

  async usage(): Promise<RecordingUsage> {
    let bytes = 0;
    let files = 0;
    const walk = async (dir: string, depth: number): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const full = path.join(dir, e.name);
        if (e.isDirectory() && depth < 4) await walk(full, depth + 1);
        else if (e.isFile()) {
          bytes += (await stat(full).catch(() => ({ size: 0 }))).size;
          files++;
        }
      }
    };
    await walk(this.dir, 0);
    return { bytes, files };
  }

  async freeBytes(): Promise<number> {
    // Before the first recording the directory may not exist yet: its parent is on the same disk.
    const fs = await statfs(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return statfs(path.dirname(this.dir));
      throw err;
    });
    return fs.bavail * fs.bsize;
  }

  /** A file is readable as far as it was written: nothing to recover. */
  async recover(): Promise<Recovery> {
    return 'none';
  }

  async unfinished(): Promise<RecordingName[]> {
    return [];
  }

  async probe(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.dir, `.probe-${randomUUID()}`);
    await writeFile(file, '', { mode: 0o600, flag: 'wx' });
    await rm(file, { force: true });
  }

  close(): void {}
}

/**
 * A recording file being written. 'wx': a recording is never appended to or replaced. 'flush':
 * fsync before close, so a recording that finished is on the disk, not only in the page cache
 * (SIGTERM, power loss). written() reads the file back once the bytes asked for are in it.
 */
/** fs.WriteStream as the constructor it is (its typings only name the createWriteStream factory's options). */
const FileStream = WriteStream as unknown as new (file: string, options: { flags: string; mode: number; flush: boolean }) => WriteStream;

class FileWriter extends FileStream implements RecordingWriter {
  readonly #file: string;
  #waiters: { upTo: number; resolve: (r: { start: number; data: Readable }) => void; reject: (err: Error) => void }[] = [];

  constructor(file: string) {
    super(file, { flags: 'wx', mode: 0o600, flush: true });
    this.#file = file;
    this.once('close', () => {
      for (const w of this.#waiters.splice(0)) w.reject(new Error('the recording is no longer being written'));
    });
  }

  /** Bytes leave memory only for the file: nothing for a live view to keep. */
  onPart(): void {}

  written(upTo: number): Promise<{ start: number; data: Readable }> {
    if (this.writableFinished || this.destroyed) return Promise.reject(new Error('the recording is no longer being written'));
    return new Promise((resolve, reject) => {
      this.#waiters.push({ upTo, resolve, reject });
      this.#answer();
    });
  }

  override _write(chunk: Buffer, enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    super._write(chunk, enc, (err) => {
      cb(err);
      this.#answer();
    });
  }

  override _writev(chunks: { chunk: Buffer; encoding: BufferEncoding }[], cb: (err?: Error | null) => void): void {
    super._writev!(chunks, (err) => {
      cb(err);
      this.#answer();
    });
  }

  #answer(): void {
    if (this.#waiters.length === 0) return;
    const ready = this.#waiters.filter((w) => w.upTo <= this.bytesWritten);
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.upTo > this.bytesWritten);
    for (const w of ready) {
      w.resolve({ start: 0, data: w.upTo > 0 ? createReadStream(this.#file, { start: 0, end: w.upTo - 1 }) : Readable.from([]) });
    }
  }
}

/** A stream that fails at once (the directory could not be made), like a file that cannot be opened. */
function failed(err: unknown): RecordingWriter {
  const w = new Writable({ write: (_c, _e, cb) => cb(err as Error) });
  queueMicrotask(() => w.destroy(err as Error));
  return Object.assign(w, {
    onPart: () => undefined,
    written: () => Promise.reject(err as Error),
  });
}
