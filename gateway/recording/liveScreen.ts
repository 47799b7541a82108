// The current screen of a session, for the live view, from the process that writes its
// recording. A watcher sits in another process (the web server) and cannot always read the
// recording: an S3 object exists only once its upload completes. So the writer is asked what
// it has taken so far (RecordingWriter.written): a file hands back the whole recording, which
// is replayed; S3 hands back the part being filled, and the parts before it left memory on
// their way to the bucket. For those, this keeps a checkpoint: each part, as it leaves, is
// replayed onto the screen of the parts before (in the background, one part at a time), so
// the screen at the start of what is still in memory is known, and only that tail is replayed
// when a watcher asks. Sessions nobody watches pay one replay per part (S3 only), no memory
// between parts but the checkpoint (the screen as escape sequences, a few KiB).
import { Readable } from 'node:stream';
import type { RecordingWriter } from '../../core/recordings/recordingStore.ts';
import { screenFromCast, type Screen } from '../../core/audit/castScreen.ts';

/** The screen after the parts replayed so far, and the end of the last one when it cut a line in two. */
interface Checkpoint {
  /** null: nothing replayed yet (the next bytes start with the header). */
  screen: Screen | null;
  carry: Buffer;
}

const START: Checkpoint = { screen: null, carry: Buffer.alloc(0) };
/**
 * Bytes of parts waiting to be replayed, at most (one 8 MiB part beside the one being replayed):
 * a session that prints faster than its parts can be replayed has older ones skipped (their
 * effect on the screen is lost, as a terminal's would be after that much output, mostly
 * scrolled away) instead of holding their bytes.
 */
const MAX_WAITING_BYTES = 8 * 1024 * 1024;

export class LiveScreen {
  /** Checkpoints by the offset in the recording they stand at (the few latest). */
  readonly #at = new Map<number, Promise<Checkpoint>>([[0, Promise.resolve(START)]]);
  readonly #waiting: { data: Buffer | null }[] = [];

  constructor(private readonly writer: RecordingWriter) {
    writer.onPart((start, data) => this.#part(start, data));
  }

  /** The screen once the first `upTo` bytes of the recording are replayed. */
  async screen(upTo: number): Promise<Screen> {
    const { start, data } = await this.writer.written(upTo);
    const cp = await (this.#at.get(start) ?? Promise.resolve(START));
    const rest = cp.carry.length > 0 ? Readable.from(prepend(cp.carry, data)) : data;
    return cp.screen ? screenFromCast(rest, cp.screen) : screenFromCast(rest);
  }

  #part(start: number, data: Buffer): void {
    const job: { data: Buffer | null } = { data };
    this.#waiting.push(job);
    let waiting = 0;
    for (let i = this.#waiting.length - 1; i >= 0; i--) {
      const w = this.#waiting[i]!;
      waiting += w.data?.length ?? 0;
      // The newest part is always kept: the screen is most like its end.
      if (waiting > MAX_WAITING_BYTES && i < this.#waiting.length - 1) w.data = null;
    }
    const before = this.#at.get(start) ?? Promise.resolve(START);
    const after = before.then((cp) => {
      const bytes = job.data;
      job.data = null;
      this.#waiting.splice(this.#waiting.indexOf(job), 1);
      return replayPart(cp, bytes);
    });
    this.#at.set(start + data.length, after);
    // Only the latest checkpoints are asked for (the start of what the writer still holds).
    for (const key of this.#at.keys()) if (key < start) this.#at.delete(key);
  }
}

/** The checkpoint after one more part (null: skipped, its bytes let go). Never rejects. */
async function replayPart(cp: Checkpoint, part: Buffer | null): Promise<Checkpoint> {
  // Skipped: the next part starts mid-line; readCast skips the torn line.
  if (!part) return { screen: cp.screen ?? { cols: 80, rows: 24, data: '', t: 0 }, carry: Buffer.alloc(0) };
  const bytes = cp.carry.length > 0 ? Buffer.concat([cp.carry, part]) : part;
  const cut = bytes.lastIndexOf(10) + 1;
  // Copied: the carry must not hold the whole part.
  const carry = Buffer.from(bytes.subarray(cut));
  try {
    const lines = Readable.from([bytes.subarray(0, cut)]);
    return { screen: cp.screen ? await screenFromCast(lines, cp.screen) : await screenFromCast(lines), carry };
  } catch {
    return { screen: cp.screen, carry };
  }
}

async function* prepend(first: Buffer, rest: Readable): AsyncGenerator<Buffer> {
  yield first;
  for await (const chunk of rest) yield chunk as Buffer;
}
