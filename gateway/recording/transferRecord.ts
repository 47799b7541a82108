// The recording of an exec without a PTY: a data stream (`cat file`, `tar c`, a backup), not
// a terminal. Recorded as a transfer (issue 13): the first and the last `keepBytes` of stdout
// and of stderr as "o" events, and for each direction — stdout, stderr, stdin — its total
// byte count and SHA-256, so a 200 MB `cat` writes kilobytes, costs one hash pass (on a thread
// of its own: hashThread.ts), and leaves no work for after the session. Stdin is counted and hashed, never kept: like keystrokes it
// can carry secrets (`sudo -S`), and the recording holds only what the operator was shown.
//
// The file is an ordinary asciicast (played by asciinema and the web player as it is):
//   header                    `"bastion": {"record": "transfer", "keepBytes": N}` added
//   [t, "o", …]               the head of stdout / stderr, as it came
//   [t, "m", "bastion: stdout: 52428800 bytes, 52297728 omitted here…"]   plus the same note
//   [t, "o", "\r\n[bastion] …\r\n"]                                       visible in playback
//   [t, "o", …]               the tail of each stream
//   [t, "m", "bastion: transfer: stdout 52428800 bytes sha256 <hex>; stderr 0 bytes sha256 <hex>; stdin 0 bytes sha256 <hex>"]
// A digest the hashing thread lost (it died mid-stream) reads `sha256 unavailable` and the
// recording is marked incomplete: the count is still exact, a digest is never wrong.
import type { CastWriter } from './castWriter.ts';
import type { HashThread, StreamHash } from './hashThread.ts';
import type { Screen } from '../../core/audit/castScreen.ts';

type StreamName = 'stdout' | 'stderr' | 'stdin';

/** Head, tail, count and hash of one direction. */
class KeptStream {
  total = 0;
  readonly hash: StreamHash;
  /**
   * The last keepBytes after the head, in a ring allocated once: a copy into it per chunk, where
   * a copy of every chunk (and the garbage of all but the last few) cost a 200 MB `cat` an
   * allocation per 32 KiB packet on the data path.
   */
  #ring: Buffer | null = null;
  /** Where the next byte goes in the ring, and how much of it holds bytes. */
  #ringEnd = 0;
  #ringFilled = 0;

  constructor(private readonly keepBytes: number, private readonly keepContent: boolean, hashing: HashThread) {
    this.hash = hashing.stream();
  }

  /** Counts and hashes `data`; returns the part that belongs to the head (to be recorded now). */
  add(data: Buffer): Buffer | null {
    this.hash.update(data);
    const before = this.total;
    this.total += data.length;
    if (!this.keepContent) return null;
    const headRoom = Math.max(0, this.keepBytes - before);
    const head = headRoom > 0 ? data.subarray(0, headRoom) : null;
    const rest = headRoom > 0 ? data.subarray(headRoom) : data;
    if (rest.length > 0) this.#keepTail(rest);
    return head;
  }

  /** The last bytes after the head (at most keepBytes), and how many between head and tail were not kept. */
  tail(): { bytes: Buffer; omitted: number } {
    const ring = this.#ring ?? Buffer.alloc(0);
    // Until the ring is full it holds its bytes from the start, in order.
    const bytes = this.#ringFilled < ring.length ? ring.subarray(0, this.#ringFilled) : Buffer.concat([ring.subarray(this.#ringEnd), ring.subarray(0, this.#ringEnd)]);
    const head = Math.min(this.total, this.keepBytes);
    return { bytes, omitted: this.total - head - bytes.length };
  }

  #keepTail(data: Buffer): void {
    const k = this.keepBytes;
    const ring = (this.#ring ??= Buffer.allocUnsafe(k));
    // Copied: the channel may reuse its buffers. Only what can still be among the last k bytes.
    const src = data.length > k ? data.subarray(data.length - k) : data;
    const first = Math.min(src.length, k - this.#ringEnd);
    src.copy(ring, this.#ringEnd, 0, first);
    if (first < src.length) src.copy(ring, 0, first);
    this.#ringEnd = (this.#ringEnd + src.length) % k;
    this.#ringFilled = Math.min(k, this.#ringFilled + src.length);
  }

}

export class TransferRecord {
  readonly #cast: CastWriter;
  readonly #streams: Record<StreamName, KeptStream>;
  readonly #onIncomplete: (reason: string) => void;
  #hashLost = false;
  #closing: Promise<void> | null = null;

  constructor(cast: CastWriter, keepBytes: number, hashing: HashThread, onIncomplete: (reason: string) => void = () => undefined) {
    this.#cast = cast;
    this.#onIncomplete = onIncomplete;
    this.#streams = {
      stdout: new KeptStream(keepBytes, true, hashing),
      stderr: new KeptStream(keepBytes, true, hashing),
      stdin: new KeptStream(keepBytes, false, hashing),
    };
  }

  get relativePath(): string {
    return this.#cast.relativePath;
  }

  get incomplete(): boolean {
    return this.#cast.incomplete || this.#hashLost;
  }

  /** Stdout bytes; false asks the caller to wait (whenDrained): the disk or the hashing thread is behind. */
  output(data: Buffer): boolean {
    return this.#add(this.#streams.stdout, data);
  }

  errorOutput(data: Buffer): boolean {
    return this.#add(this.#streams.stderr, data);
  }

  #add(s: KeptStream, data: Buffer): boolean {
    const head = s.add(data);
    const written = head ? this.#cast.output(head) : true;
    return written && !s.hash.behind;
  }

  /** Stdin bytes (an upload: rsync, `cat > f`); false while its hashing is behind, as output(). */
  input(data: Buffer): boolean {
    const stdin = this.#streams.stdin;
    stdin.add(data);
    return !stdin.hash.behind;
  }

  resize(): void {
    // No terminal, no size.
  }

  whenDrained(fn: () => void): void {
    const { stdout, stderr, stdin } = this.#streams;
    this.#cast.whenDrained(() => stdout.hash.whenCaughtUp(() => stderr.hash.whenCaughtUp(() => stdin.hash.whenCaughtUp(fn))));
  }

  /** The totals per direction, as the summary marker states them. */
  summary(): Record<StreamName, { bytes: number }> {
    return { stdout: { bytes: this.#streams.stdout.total }, stderr: { bytes: this.#streams.stderr.total }, stdin: { bytes: this.#streams.stdin.total } };
  }

  /** What a watcher joining sees: the recording so far (the heads of the streams). */
  screen(): Promise<Screen> {
    return this.#cast.screen();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const digests: string[] = [];
    for (const name of ['stdout', 'stderr'] as const) {
      const s = this.#streams[name];
      const { bytes, omitted } = s.tail();
      if (omitted > 0) {
        const note = `${name}: ${s.total} bytes, ${omitted} omitted here (the first and last ${bytes.length} kept)`;
        this.#cast.marker(`bastion: ${note}`);
        this.#cast.output(Buffer.from(`\r\n[bastion] ${note}\r\n`));
      }
      if (bytes.length > 0) this.#cast.output(bytes);
    }
    const names = ['stdout', 'stderr', 'stdin'] as const;
    const hexes = await Promise.all(names.map((name) => this.#streams[name].hash.digest()));
    names.forEach((name, i) => digests.push(`${name} ${this.#streams[name].total} bytes sha256 ${hexes[i] ?? 'unavailable'}`));
    if (hexes.includes(null)) {
      this.#hashLost = true;
      this.#onIncomplete('the transfer\'s SHA-256 could not be computed (its hashing thread stopped)');
    }
    this.#cast.marker(`bastion: transfer: ${digests.join('; ')}`);
    await this.#cast.close();
  }
}
