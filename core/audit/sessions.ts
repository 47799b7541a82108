import { In, type DataSource } from 'typeorm';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { isUuid, newId } from '../ids.ts';
import { applySearch, paginate, type ListQuery, type Page } from '../db/listing.ts';
import { RecordingSegments } from './recordingSegments.ts';
import { parseRecordingName, sessionIdOf, type RecordingInfo, type RecordingName, type RecordingStore } from '../recordings/recordingStore.ts';
import { AuditJournal, type JournalEntry } from './auditJournal.ts';
import { refuseOverLoginLimit } from './loginsHeld.ts';
import { isDatabaseUnavailable } from '../db/databaseFaults.ts';
import { sweepStale } from '../db/staleSweep.ts';
import { FOLDED_MAX, FOLD_GAP_MS, foldParams, foldParentSql, parentOf, transferOnlySql } from './transferFolding.ts';
import { CommandEntity, FileTransferEntity, LoginLogEntity, SessionEntity, type CommandRecord, type Session, type SessionStatus } from '../db/entities/index.ts';

/** What a gateway channel knows when a session starts; the rest of the row is set by the service. */
/** `channel` defaults to 'ssh'. */
export type SessionStart = Pick<Session, 'userId' | 'username' | 'assetId' | 'assetName' | 'systemUserId' | 'systemUsername' | 'kind' | 'clientAddress'> & { channel?: Session['channel'] };

export interface SessionResult {
  status: SessionStatus;
  bytesIn: number;
  bytesOut: number;
  exitStatus?: number | null;
  exitSignal?: string | null;
  endReason?: string | null;
  terminatedBy?: string | null;
}

export interface CommandInput {
  input: string;
  output: string;
  offsetMs: number;
  at: Date;
  risk?: CommandRecord['risk'];
  notEchoed?: boolean;
}

/** `user`, `asset`: an id (UUID) or a username / asset name. */
export interface SessionListQuery extends ListQuery {
  user?: string | undefined;
  asset?: string | undefined;
  active?: boolean | undefined;
  kind?: Session['kind'] | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  /**
   * Transfer-only sessions that go under a shell (core/audit/transferFolding.ts) are left out:
   * the caller lists them under their shell with foldedUnder. Ignored with `kind`.
   */
  fold?: boolean | undefined;
}

/** The filters of a session list that also decide which shell a transfer can be folded under. */
type StateFilters = Pick<SessionListQuery, 'active' | 'from' | 'to'>;

/** `active`, `from` and `to` as SQL on `alias` (each condition starting with AND), and their parameters. */
function stateFilters(alias: string, q: StateFilters): { sql: string; params: Record<string, unknown> } {
  const parts: string[] = [];
  const params: Record<string, unknown> = {};
  if (q.active !== undefined) {
    parts.push(q.active ? `${alias}.status = :active` : `${alias}.status <> :active`);
    params.active = 'active';
  }
  if (q.from) {
    parts.push(`${alias}.started_at >= :from`);
    params.from = q.from.getTime();
  }
  if (q.to) {
    parts.push(`${alias}.started_at < :to`);
    params.to = q.to.getTime();
  }
  return { sql: parts.map((p) => ` AND ${p}`).join(''), params };
}

export interface CommandListQuery extends ListQuery {
  user?: string | undefined;
  asset?: string | undefined;
  systemUser?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

/** Command rows are inserted together when they arrive within this window (500 busy shells, one INSERT). */
const COMMAND_BATCH_MS = 25;
const COMMAND_BATCH_ROWS = 100;

const LIMITS = { input: 8192, output: 4096, text64: 64 };

interface QueuedCommand {
  row: CommandRecord;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Sessions (one per gateway channel) and the commands typed in them: the write side for the gateway, the read side for auditors. */
export class SessionService {
  /** Recordings cut into segments for fast playback (a sidecar the store keeps beside each recording). */
  readonly segments: RecordingSegments;
  readonly #log: Logger | undefined;
  #queue: QueuedCommand[] = [];
  #flushTimer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();

  constructor(private readonly ds: DataSource, private readonly config: Config, readonly recordings: RecordingStore, opts: { log?: Logger } = {}) {
    this.#log = opts.log;
    this.segments = new RecordingSegments(recordings, opts.log);
    this.journal = new AuditJournal(config.dataDir, (e) => this.#applyJournaled(e), opts.log);
  }

  /** Session ends and commands the database could not take during an outage, written when it is back. */
  readonly journal: AuditJournal;

  async #applyJournaled(e: JournalEntry): Promise<void> {
    if (e.t === 'session.end') {
      await this.ds.getRepository(SessionEntity).update({ id: e.id }, { ...e.fields, endedAt: new Date(e.at) } as never);
      return;
    }
    const entity = e.t === 'commands' ? CommandEntity : e.table === 'login_log' ? LoginLogEntity : FileTransferEntity;
    const rows = e.rows.map((r) => ({ ...r, id: String(r.id), createdAt: new Date(r.createdAt as string) }));
    const repo = this.ds.getRepository<{ id: string }>(entity);
    try {
      await repo.insert(rows as never);
    } catch (err) {
      if (isDatabaseUnavailable(err)) throw err;
      // Replayed twice (a crash after the insert): keep the rows that are not there yet.
      for (const row of rows) {
        if (!(await repo.existsBy({ id: row.id }))) await repo.insert(row as never);
      }
    }
  }

  /**
   * Starts the row. With `maxActivePerUser` (BASTION_MAX_SESSIONS_PER_USER, 0: no limit) the row
   * is inserted only when the user holds fewer logins than that — active sessions and the logins
   * of their queued and running jobs (core/audit/loginsHeld.ts), counted in the database under the
   * user's row lock, so across every gateway and server process and worker, sessions and jobs
   * starting at the same moment counting each other. A refused session leaves no row.
   */
  async start(init: SessionStart, opts: { maxActivePerUser?: number } = {}): Promise<Session> {
    const now = new Date();
    const row: Session = {
      id: newId(),
      userId: init.userId,
      username: init.username.slice(0, LIMITS.text64),
      assetId: init.assetId,
      assetName: init.assetName.slice(0, 128),
      systemUserId: init.systemUserId,
      systemUsername: init.systemUsername.slice(0, LIMITS.text64),
      kind: init.kind,
      channel: init.channel ?? 'ssh',
      clientAddress: init.clientAddress.slice(0, 64),
      startedAt: now,
      endedAt: null,
      status: 'active',
      recording: null,
      bytesIn: 0,
      bytesOut: 0,
      exitStatus: null,
      exitSignal: null,
      terminatedBy: null,
      endReason: null,
      heartbeatAt: now,
      recordingIncomplete: false,
    };
    const max = opts.maxActivePerUser ?? 0;
    if (max <= 0) {
      await this.ds.getRepository(SessionEntity).insert(row);
      return row;
    }
    await this.ds.transaction(async (em) => {
      await refuseOverLoginLimit(em, init.userId, max, { sessions: 1 });
      await em.getRepository(SessionEntity).insert(row);
    });
    return row;
  }

  /** Stores the name of the session's recording: only a name the store makes, for this session's own UUID. */
  async setRecording(id: string, name: string): Promise<void> {
    if (!parseRecordingName(id, name)) throw new Error('recording path must be YYYY/MM/DD/<session id>.cast');
    await this.ds.getRepository(SessionEntity).update({ id }, { recording: name });
  }

  /** The recording stopped holding the whole session (disk failure, size limit): auditors see it on the row. */
  async markRecordingIncomplete(id: string): Promise<void> {
    await this.ds.getRepository(SessionEntity).update({ id }, { recordingIncomplete: true });
  }

  /** Bytes free (for an unprivileged writer) where the recordings are kept; null: no such floor (object storage). */
  recordingsFreeBytes(): Promise<number | null> {
    return this.recordings.freeBytes();
  }

  /**
   * Whether a recording could be written now (GET /readyz): the store writes and removes a small
   * probe (a file, or an object) where recordings go. Its name is no session's, so no listing takes it for one.
   */
  checkRecordingsWritable(): Promise<void> {
    return this.recordings.probe();
  }

  /** Closes the row: end time, status, byte counts, how it ended. */
  async end(id: string, result: SessionResult): Promise<void> {
    const at = Date.now();
    const fields = {
      status: result.status,
      bytesIn: result.bytesIn,
      bytesOut: result.bytesOut,
      exitStatus: result.exitStatus ?? null,
      exitSignal: result.exitSignal?.slice(0, 32) ?? null,
      endReason: result.endReason ?? null,
      terminatedBy: result.terminatedBy?.slice(0, 64) ?? null,
    };
    try {
      await this.ds.getRepository(SessionEntity).update({ id }, { ...fields, endedAt: new Date(at) });
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      // The row as it really ended (time, bytes, exit status), written when the database is back.
      this.journal.append({ t: 'session.end', id, at, fields });
    }
  }

  /**
   * Cuts an ended session's recording into playback segments in the background, so the first
   * replay opens fast. Called on the bus's `session.ended` by the primary process, so with
   * gateway workers the CPU it takes is never spent on a gateway's event loop.
   */
  prebuildSegments(id: string): void {
    const timer = setTimeout(() => {
      this.ds.getRepository(SessionEntity).findOneBy({ id }).then((row) => {
        const name = row ? this.recordingOf(row) : null;
        if (name) this.segments.prebuild(name);
      }, () => undefined);
    }, 250);
    timer.unref();
  }

  /** Records a command; rows arriving together (many sessions) are inserted in one statement. */
  addCommand(session: Session, c: CommandInput): Promise<void> {
    const row: CommandRecord = {
      id: newId(),
      sessionId: session.id,
      userId: session.userId,
      username: session.username,
      assetId: session.assetId,
      assetName: session.assetName,
      systemUsername: session.systemUsername,
      input: c.input.slice(0, LIMITS.input),
      output: c.output.slice(0, LIMITS.output),
      risk: c.risk ?? 'normal',
      notEchoed: c.notEchoed ?? false,
      offsetMs: Math.max(0, Math.round(c.offsetMs)),
      createdAt: c.at,
    };
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ row, resolve, reject });
      if (this.#queue.length >= COMMAND_BATCH_ROWS) this.#flushSoon(0);
      else this.#flushSoon(COMMAND_BATCH_MS);
    });
  }

  /** Waits until every command handed to addCommand so far is stored (or failed). */
  async flushCommands(): Promise<void> {
    if (this.#flushTimer) {
      clearTimeout(this.#flushTimer);
      this.#flushTimer = null;
      this.#startFlush();
    }
    await this.#flushing;
  }

  #flushSoon(ms: number): void {
    if (this.#flushTimer && ms > 0) return;
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = null;
      this.#startFlush();
    }, ms);
  }

  #startFlush(): void {
    const batch = this.#queue.splice(0, this.#queue.length);
    if (batch.length === 0) return;
    this.#flushing = this.#flushing.then(async () => {
      try {
        for (let i = 0; i < batch.length; i += COMMAND_BATCH_ROWS) {
          await this.ds.getRepository(CommandEntity).insert(batch.slice(i, i + COMMAND_BATCH_ROWS).map((q) => q.row));
        }
        for (const q of batch) q.resolve();
      } catch (err) {
        if (isDatabaseUnavailable(err)) {
          // Kept on disk and written when the database is back: stored, as far as callers go.
          this.journal.append({ t: 'commands', rows: batch.map((q) => q.row as unknown as Record<string, unknown>) });
          for (const q of batch) q.resolve();
          return;
        }
        this.#log?.error({ err, commands: batch.length }, 'commands could not be stored');
        for (const q of batch) q.reject(err);
      }
    });
  }

  /** A running gateway marks the live sessions it holds (every BASTION_SESSION_HEARTBEAT_SECONDS). */
  async heartbeat(ids: readonly string[]): Promise<void> {
    const at = new Date();
    for (let i = 0; i < ids.length; i += 500) {
      await this.ds.getRepository(SessionEntity).update({ id: In(ids.slice(i, i + 500)), status: 'active' }, { heartbeatAt: at });
    }
  }

  /**
   * Closes as interrupted the sessions still active whose gateway stopped marking them
   * (crashed, killed, its host gone): not marked for three heartbeat periods. Sessions a
   * running gateway holds, in this process or any other, are left alone.
   */
  async closeOrphaned(): Promise<number> {
    const cutoff = Date.now() - 3 * this.config.sessionHeartbeatSeconds * 1000;
    const res = await this.ds.createQueryBuilder()
      .update(SessionEntity)
      // Its recorder died with it: a recording, if there is one, does not hold the session's end.
      .set({ status: 'interrupted', endedAt: new Date(), endReason: 'the gateway stopped before the session ended', recordingIncomplete: () => 'recording IS NOT NULL' })
      .where('status = :status', { status: 'active' })
      .andWhere('COALESCE(heartbeat_at, started_at) < :cutoff', { cutoff })
      .execute();
    return res.affected ?? 0;
  }

  /**
   * Completes now every recording whose writer is gone (S3: an upload left with its manifest by
   * a gateway that died, or whose writer failed), so that playback, the dashboard and retention
   * see it without a reader having to ask first: a recording belongs to a session that is no
   * longer active exactly when its writer is gone (a live session's gateway heartbeats it;
   * closeOrphaned ends the others). Returns how many were completed or dropped.
   */
  async completeAbandoned(): Promise<number> {
    let n = 0;
    for (const name of await this.recordings.unfinished()) {
      const row = await this.ds.getRepository(SessionEntity).findOneBy({ id: sessionIdOf(name) });
      // Active: still being written. No row: not this database's (or purged); retention never meets it, so leave it be.
      if (!row || row.status === 'active') continue;
      try {
        if (await this.#recover(row.id, name)) n++;
      } catch (err) {
        // One that fails (the store erring now) is tried again at the next sweep; the others go on.
        this.#log?.error({ err, recording: name }, 'an abandoned recording could not be completed');
      }
    }
    return n;
  }

  /** Makes what reached the store of an abandoned recording readable; the row says it lost its end. True when something was left. */
  async #recover(id: string, name: RecordingName): Promise<boolean> {
    const outcome = await this.recordings.recover(name);
    if (outcome === 'none') return false;
    await this.markRecordingIncomplete(id);
    return true;
  }

  /**
   * Runs closeOrphaned now and then once per heartbeat period; returns the stop function.
   * After a database outage every heartbeat is stale, yet the gateways are fine: sessions are
   * judged only once the database has answered for three periods again, so that each live
   * gateway has marked its sessions (a missing heartbeat then means a missing gateway).
   */
  async sweepOrphans(): Promise<() => void> {
    return sweepStale(this.ds, this.config.sessionHeartbeatSeconds * 1000, {
      onDown: (err) => this.#log?.warn({ err }, 'the database does not answer; no session is judged orphaned until it has answered for three heartbeat periods'),
      sweep: async () => {
        try {
          const n = await this.closeOrphaned();
          if (n > 0) this.#log?.warn({ sessions: n }, 'sessions whose gateway stopped were closed as interrupted');
        } catch (err) {
          this.#log?.error({ err }, 'closing orphaned sessions failed');
        }
        try {
          await this.completeAbandoned();
        } catch (err) {
          this.#log?.error({ err }, 'completing abandoned recordings failed');
        }
      },
    });
  }

  list(q: SessionListQuery): Promise<Page<Session>> {
    const qb = this.ds.getRepository(SessionEntity).createQueryBuilder('s').orderBy('s.started_at', 'DESC').addOrderBy('s.id', 'ASC');
    applySearch(qb, ['s.username', 's.asset_name', 's.system_username', 's.client_address'], q.search);
    byIdOrName(qb, 's.user_id', 's.username', q.user, 'user');
    byIdOrName(qb, 's.asset_id', 's.asset_name', q.asset, 'asset');
    const state = stateFilters('s', q);
    if (state.sql) qb.andWhere(state.sql.slice(' AND '.length), state.params);
    if (q.kind) qb.andWhere('s.kind = :kind', { kind: q.kind });
    if (q.fold && !q.kind) {
      // A transfer that has a shell to go under (one the same filters list) is shown under it.
      const parent = stateFilters('p', q);
      qb.andWhere(`NOT (${transferOnlySql('s')} AND EXISTS (SELECT 1 FROM session p WHERE ${foldParentSql('p', 's')}${parent.sql}))`, { ...foldParams(Date.now()), ...parent.params });
    }
    return paginate(qb, q);
  }

  /**
   * The transfer-only sessions folded under the shells among `top` (a page of a folded list,
   * or one session), oldest first, by shell id. `q`: the list's filters, which the shell a
   * transfer goes under must match as well (the same filters that hid it at the top level).
   */
  async foldedUnder(top: readonly Session[], q: StateFilters = {}): Promise<Map<string, Session[]>> {
    const out = new Map<string, Session[]>();
    const shells = top.filter((s) => s.kind === 'shell' && s.systemUserId !== null);
    if (shells.length === 0) return out;
    const now = Date.now();
    const users = [...new Set(shells.map((s) => s.userId))];
    const assets = [...new Set(shells.map((s) => s.assetId))];
    const repo = this.ds.getRepository(SessionEntity);
    const children = await repo.createQueryBuilder('s')
      .where(transferOnlySql('s'))
      .andWhere('s.user_id IN (:...users) AND s.asset_id IN (:...assets)', { users, assets })
      .andWhere('COALESCE(s.ended_at, :now) >= :minStart', { now, minStart: Math.min(...shells.map((s) => s.startedAt.getTime())) })
      .andWhere('s.started_at <= :maxStart', { maxStart: Math.max(...shells.map((s) => s.endedAt?.getTime() ?? now)) + FOLD_GAP_MS })
      .orderBy('s.started_at', 'ASC').addOrderBy('s.id', 'ASC')
      .take(FOLDED_MAX)
      .getMany();
    if (children.length === 0) return out;
    // Every shell a transfer could go under, on this page or not: it goes under the best of them.
    const state = stateFilters('p', q);
    const candidates = await repo.createQueryBuilder('p')
      .where(`p.kind = 'shell' AND p.user_id IN (:...users) AND p.asset_id IN (:...assets)${state.sql}`, { users, assets, ...state.params })
      .andWhere('p.started_at <= :maxEnd', { maxEnd: Math.max(...children.map((c) => c.endedAt?.getTime() ?? now)) })
      .andWhere('(p.ended_at IS NULL OR p.ended_at >= :minStart)', { minStart: Math.min(...children.map((c) => c.startedAt.getTime())) - FOLD_GAP_MS })
      .getMany();
    const onPage = new Set(shells.map((s) => s.id));
    for (const child of children) {
      const parent = parentOf(child, candidates, now);
      if (!parent || !onPage.has(parent.id)) continue;
      const list = out.get(parent.id) ?? [];
      list.push(child);
      out.set(parent.id, list);
    }
    return out;
  }

  /** The shell a transfer-only session is folded under, or null (also for any other session). */
  async foldedInto(session: Session, transferOnly: boolean): Promise<Session | null> {
    if (!transferOnly || session.systemUserId === null) return null;
    const now = Date.now();
    const candidates = await this.ds.getRepository(SessionEntity).createQueryBuilder('p')
      .where(`p.kind = 'shell' AND p.user_id = :user AND p.asset_id = :asset AND p.system_user_id = :su`, { user: session.userId, asset: session.assetId, su: session.systemUserId })
      .andWhere('p.started_at <= :end', { end: session.endedAt?.getTime() ?? now })
      .andWhere('(p.ended_at IS NULL OR p.ended_at >= :start)', { start: session.startedAt.getTime() - FOLD_GAP_MS })
      .getMany();
    return parentOf(session, candidates, now);
  }

  async get(id: string): Promise<Session> {
    const session = isUuid(id) ? await this.ds.getRepository(SessionEntity).findOneBy({ id: id.toLowerCase() }) : null;
    if (!session) throw new NotFoundError('session not found', { reason: 'session_not_found' });
    return session;
  }

  /** The commands of one session, in the order they were typed. */
  async commands(sessionId: string, q: ListQuery): Promise<Page<CommandRecord>> {
    const session = await this.get(sessionId);
    const qb = this.ds.getRepository(CommandEntity).createQueryBuilder('c')
      .where('c.session_id = :sid', { sid: session.id })
      .orderBy('c.offset_ms', 'ASC').addOrderBy('c.created_at', 'ASC');
    applySearch(qb, ['c.input'], q.search);
    return paginate(qb, q);
  }

  /** Commands across sessions, newest first; `search` matches the command line. */
  searchCommands(q: CommandListQuery): Promise<Page<CommandRecord>> {
    const qb = this.ds.getRepository(CommandEntity).createQueryBuilder('c').orderBy('c.created_at', 'DESC').addOrderBy('c.id', 'ASC');
    applySearch(qb, ['c.input'], q.search);
    byIdOrName(qb, 'c.user_id', 'c.username', q.user, 'user');
    byIdOrName(qb, 'c.asset_id', 'c.asset_name', q.asset, 'asset');
    if (q.systemUser) qb.andWhere('c.system_username = :systemUser', { systemUser: q.systemUser });
    if (q.from) qb.andWhere('c.created_at >= :from', { from: q.from.getTime() });
    if (q.to) qb.andWhere('c.created_at < :to', { to: q.to.getTime() });
    return paginate(qb, q);
  }

  /** The name of a session's recording, or null when it has none: only `YYYY/MM/DD/<this session's UUID>.cast` (rule 7). */
  recordingOf(session: Pick<Session, 'id' | 'recording'>): RecordingName | null {
    return parseRecordingName(session.id, session.recording);
  }

  /**
   * A session's recording as it can be read now (name, size, last change), or null when it has
   * none or it is missing. An ended session whose gateway died before finishing the recording
   * (S3: an upload never completed) gets what reached the store, completed here.
   */
  async recording(session: Session): Promise<{ name: RecordingName; info: RecordingInfo } | null> {
    const name = this.recordingOf(session);
    if (!name) return null;
    let info = await this.recordings.stat(name);
    // Normally done already by the sweep (completeAbandoned); a reader coming first does it too.
    if (!info && session.status !== 'active' && await this.#recover(session.id, name)) info = await this.recordings.stat(name);
    return info ? { name, info } : null;
  }

  /**
   * The recording to download: as far as it has come while the session runs where the store
   * can read it then (a file), else a 409 until the session ends (S3: the object exists only
   * once its upload completes). Not found when the session has none or it is missing.
   */
  async recordingToRead(session: Session): Promise<{ name: RecordingName; info: RecordingInfo }> {
    if (!this.recordingOf(session)) throw new NotFoundError('this session has no recording', { reason: 'no_recording' });
    if (session.status === 'active' && !this.recordings.readableWhileWriting) {
      throw new ConflictError('the session is still running; its recording is available when it ends', { reason: 'recording_session_running' });
    }
    const rec = await this.recording(session);
    if (!rec) throw new NotFoundError('the recording file is missing', { reason: 'recording_file_missing' });
    return rec;
  }
}

function byIdOrName(qb: { andWhere(where: string, params: Record<string, unknown>): unknown }, idColumn: string, nameColumn: string, value: string | undefined, key: string): void {
  if (!value) return;
  if (isUuid(value)) qb.andWhere(`${idColumn} = :${key}`, { [key]: value.toLowerCase() });
  else qb.andWhere(`${nameColumn} = :${key}`, { [key]: value });
}
