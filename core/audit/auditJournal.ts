// Audit rows that the database cannot take right now (an outage) are not dropped: they are
// appended to a journal in the data directory and written when the database answers again
// (issue 12 item 10). Each process keeps its own file (`journal/<pid>-<id>.jsonl`), so
// appends and rewrites never interleave; a file left by a process that is gone (a crash
// during the outage) is replayed by the next primary process that starts.
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger.ts';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../dataDir.ts';

/** One journaled write; `apply` must be idempotent (a crash may replay an entry twice). */
export type JournalEntry =
  | { t: 'session.end'; id: string; at: number; fields: Record<string, unknown> }
  | { t: 'commands'; rows: Record<string, unknown>[] }
  /** Rows of an append-only audit table (each with its own id: a replay skips what is there). */
  | { t: 'rows'; table: JournaledTable; rows: Record<string, unknown>[] };

/** Append-only audit tables whose rows may wait in the journal besides session ends and commands. */
export type JournaledTable = 'login_log' | 'file_transfer';

const RETRY_MS = 1000;

export class AuditJournal {
  readonly #dir: string;
  readonly #file: string;
  #pending = 0;
  #timer: NodeJS.Timeout | null = null;
  #replaying: Promise<void> | null = null;

  constructor(dataDir: string, private readonly apply: (entry: JournalEntry) => Promise<void>, private readonly log?: Logger) {
    this.#dir = path.join(dataDir, 'journal');
    this.#file = path.join(this.#dir, `${process.pid}-${randomUUID()}.jsonl`);
  }

  /** Entries waiting in this process's journal. */
  get pending(): number {
    return this.#pending;
  }

  /** Keeps `entry` on disk (synchronously: it must survive this process) and retries it until the database takes it. */
  append(entry: JournalEntry): void {
    mkdirSync(this.#dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    // Synced before the caller goes on: the row must outlive a crash of this process.
    const fd = openSync(this.#file, 'a', PRIVATE_FILE_MODE);
    try {
      writeSync(fd, `${JSON.stringify(entry)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (this.#pending++ === 0) this.log?.warn({ file: this.#file }, 'the database does not answer: audit rows are kept in the journal until it does');
    this.#schedule();
  }

  /** Writes this process's journal to the database now; what still fails stays for the next try. */
  flush(): Promise<void> {
    this.#replaying ??= this.#replayFile(this.#file).then((left) => { this.#pending = left; }).finally(() => { this.#replaying = null; });
    return this.#replaying;
  }

  /** At start-up (primary only): journals left by processes that are gone are written now, or kept for the next start. */
  async replayOrphans(): Promise<void> {
    let names: string[];
    try {
      names = readdirSync(this.#dir).filter((n) => n.endsWith('.jsonl'));
    } catch {
      return;
    }
    for (const name of names) {
      const pid = Number(name.split('-')[0]);
      if (pid === process.pid || alive(pid)) continue;
      const left = await this.#replayFile(path.join(this.#dir, name));
      if (left > 0) this.log?.warn({ file: name, left }, 'journaled audit rows of a stopped process could not all be written yet');
    }
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.flush().then(() => { if (this.#pending > 0) this.#schedule(); });
    }, RETRY_MS);
    this.#timer.unref();
  }

  /** Applies the file's entries in order; rewrites it with what is left (removes it when nothing is). Returns how many are left. */
  async #replayFile(file: string): Promise<number> {
    let lines: string[];
    try {
      lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    } catch {
      return 0;
    }
    let done = 0;
    for (const line of lines) {
      let entry: JournalEntry;
      try {
        entry = JSON.parse(line) as JournalEntry;
      } catch {
        done++; // a torn last line (crash while appending): nothing to write
        continue;
      }
      try {
        await this.apply(entry);
        done++;
      } catch (err) {
        this.log?.debug({ err }, 'journal replay stopped: the database still does not answer');
        break;
      }
    }
    // Entries appended while replaying are kept: only the lines applied are cut.
    const now = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    const left = now.slice(done);
    if (left.length === 0) rmSync(file, { force: true });
    else {
      const tmp = `${file}.tmp`;
      writeFileSync(tmp, `${left.join('\n')}\n`, { mode: PRIVATE_FILE_MODE });
      renameSync(tmp, file);
    }
    if (done > 0) this.log?.info({ written: done, left: left.length }, 'journaled audit rows written to the database');
    return left.length;
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
