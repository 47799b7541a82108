// One audited session (a shell, an exec, an sftp or a tunnel): its Session row, its byte counters,
// its recording and command taps, and how it ends. Channels create one per backend use.
import type { Action, CommandRecord, Session, SessionKind, SessionStatus } from '../core/db/entities/index.ts';
import type { FilterContext } from '../core/access/commandFilters.ts';
import type { Grant } from '../core/access/grant.ts';
import type { Logger } from '../core/logger.ts';
import type { SessionService } from '../core/audit/sessions.ts';
import type { GatewayContext, Operator } from './context.ts';
import { StringDecoder } from 'node:string_decoder';
import { watchersFor, type Watchers } from './watchers.ts';
import { EchoedInput } from './echoedInput.ts';
import { OperatorError } from './terminalErrors.ts';
import { openCommandTap, openRecording, RecordingUnavailableError, type CommandTap, type RecordedCommand, type RecordingSink } from './proxy/recorders.ts';
import type { ScreenLine } from './recording/commandRecorder.ts';
import type { TapPlan } from './proxy/channelTaps.ts';
import type { Screen } from '../core/audit/castScreen.ts';

type CommandRisk = CommandRecord['risk'];

export interface SessionEnd {
  status: SessionStatus;
  exitStatus?: number | null;
  exitSignal?: string | null;
  endReason?: string | null;
  terminatedBy?: string | null;
}

export interface Termination {
  reason: string;
  by: string | null;
  status: SessionStatus;
}

export interface LiveSessionInit {
  grant: Grant;
  /** Which taps the session gets: decided by proxy/channelTaps.ts, never by the channel handler. */
  plan: TapPlan;
  /** Terminal size for the recording and the command tap; null when there is no PTY. */
  size: { cols: number; rows: number } | null;
  term?: string | undefined;
}

export function sessionStore(gw: GatewayContext): SessionService {
  return gw.services.sessions;
}

/**
 * New recorded sessions are refused while the recordings disk has less than BASTION_RECORDING_MIN_FREE_MB
 * free. Object storage has no such floor (null): a bucket that refuses writes refuses the session when
 * its recording is opened instead.
 */
async function refuseWhenDiskLow(gw: GatewayContext, op: Operator): Promise<void> {
  const min = gw.services.config.recordingMinFreeBytes;
  if (min <= 0) return;
  let free: number | null;
  try {
    free = await sessionStore(gw).recordingsFreeBytes();
  } catch (err) {
    op.log.error({ err }, 'the recordings disk could not be checked');
    if (gw.services.config.recordingFailure === 'continue') return;
    throw new OperatorError('session refused: the bastion cannot check its recordings disk; tell an administrator');
  }
  if (free === null || free >= min) return;
  op.log.error({ freeBytes: free, minFreeBytes: min }, 'session refused: the recordings disk is nearly full');
  throw new OperatorError(`session refused: the bastion's recordings disk is nearly full (${Math.floor(free / 1048576)} MiB free); tell an administrator`);
}


/** Command lines waiting for their row before the shell's input waits for them (commandsBehind). */
export const COMMANDS_UNSAVED = 256;
export class LiveSession {
  bytesIn = 0;
  bytesOut = 0;
  lastActivityAt = Date.now();
  /**
   * Someone types into it: a PTY (a shell, exec -t), a shell without one (`ssh -T`, which reads
   * commands line by line just the same), or an exec of a program that reads its commands from
   * stdin (`ssh host bash`; channelTaps.ts records it as a terminal): the idle timeout for terminals applies.
   */
  interactive = false;
  readonly log: Logger;
  readonly #watchers: Watchers;
  #cast: RecordingSink | null = null;
  #notice: ((line: string) => void) | null = null;
  #pendingNotices: string[] = [];
  #commands: CommandTap | null = null;
  /** Command rows: their risk checks in order (#commandOrder), the store's promise for the last one handed over. */
  #commandOrder: Promise<void> = Promise.resolve();
  #lastSaved: Promise<void> = Promise.resolve();
  #commandsUnsaved = 0;
  #terminator: ((reason: string) => void) | null = null;
  #termination: Termination | null = null;
  #ended: Promise<void> | null = null;

  private constructor(
    private readonly gw: GatewayContext,
    readonly operator: Operator,
    readonly row: Session,
    readonly grant: Grant,
    readonly plan: TapPlan,
  ) {
    this.log = operator.log.child({ sessionId: row.id, asset: grant.asset.name, systemUser: grant.systemUser.username, kind: row.kind });
    this.#watchers = watchersFor(gw.services.bus);
  }

  get id(): string {
    return this.row.id;
  }

  get kind(): SessionKind {
    return this.row.kind;
  }

  /** The action the session's access is re-checked for (rule 11). */
  get action(): Action {
    return this.plan.action;
  }

  /** Starts the Session row (after the per-user limit) and the taps. */
  static async open(gw: GatewayContext, op: Operator, init: LiveSessionInit): Promise<LiveSession> {
    const store = sessionStore(gw);
    const { grant } = init;
    if (init.plan.recording !== 'none') await refuseWhenDiskLow(gw, op);
    const row = await store.start({
      userId: op.user.id, username: op.user.username, assetId: grant.asset.id, assetName: grant.asset.name,
      systemUserId: grant.systemUser.id, systemUsername: grant.systemUser.username, kind: init.plan.sessionKind, channel: op.face, clientAddress: op.clientAddress,
    }, { maxActivePerUser: gw.services.config.maxSessionsPerUser });
    const live = new LiveSession(gw, op, row, grant, init.plan);
    live.interactive = init.size !== null || init.plan.channel === 'shell' || (init.plan.channel === 'exec' && init.plan.recording === 'terminal');
    gw.sessions.add(live);
    live.log.info('session started');
    op.onSession?.(live);
    try {
      await live.#openRecording(store, init);
    } catch (err) {
      await live.end({ status: 'failed', endReason: err instanceof OperatorError ? err.message : 'the recording could not be started' });
      throw err;
    }
    await live.#openTaps(store, init);
    return live;
  }

  /**
   * The recording, its header on disk before the session goes on. When the disk refuses, the
   * session is refused (BASTION_RECORDING_FAILURE=refuse, the default: DESIGN rule 12) or goes
   * on marked recordingIncomplete ('continue'). A PTY-less exec is recorded as a transfer.
   */
  async #openRecording(store: SessionService, init: LiveSessionInit): Promise<void> {
    if (init.plan.recording === 'none') return;
    const config = this.gw.services.config;
    try {
      this.#cast = await openRecording({
        store: store.recordings, sessionId: this.id, startedAt: this.row.startedAt, size: init.size ?? { cols: 80, rows: 24 },
        title: `${this.operator.user.username} → ${this.grant.systemUser.username}@${this.grant.asset.name}`,
        env: init.term ? { TERM: init.term } : {}, log: this.log,
        mode: init.plan.recording,
        keepBytes: config.execRecordKeepBytes, hashing: this.gw.hashing, maxBytes: config.recordingMaxBytes, limitAction: config.recordingMaxAction,
        onIncomplete: (reason) => { this.gw.services.metrics.recordingWriteErrors.inc(); this.#recordingIncomplete(reason); },
        onLimit: (reason) => this.terminate(reason),
      });
    } catch (err) {
      const why = err instanceof RecordingUnavailableError ? err.message : 'error';
      this.log.error({ err }, 'the recording could not be started');
      this.gw.services.metrics.recordingWriteErrors.inc();
      if (config.recordingFailure === 'refuse') {
        throw new OperatorError(`session refused: the bastion cannot record it (${why}); tell an administrator`);
      }
      this.#recordingIncomplete(`the recording could not be started (${why})`, 'this session runs unrecorded');
      return;
    }
    await store.setRecording(this.id, this.#cast.relativePath);
  }

  async #openTaps(store: SessionService, init: LiveSessionInit): Promise<void> {
    const size = init.size ?? { cols: 80, rows: 24 };
    try {
      if (init.plan.commandRecorder) this.#commands = await openCommandTap(init.plan.commandRecorder, size, this.row.startedAt, (c) => this.#saveCommand(store, c), this.log);
    } catch (err) {
      this.log.error({ err }, 'command recovery could not start');
    }
  }

  /** The recording no longer holds the whole session: the row says so, the operator is told once. */
  #recordingIncomplete(reason: string, consequence = 'this session is no longer fully recorded'): void {
    this.log.error({ reason }, 'the recording of this session is incomplete');
    sessionStore(this.gw).markRecordingIncomplete(this.id).catch((err: unknown) => this.log.error({ err }, 'session row could not be marked recordingIncomplete'));
    this.notify(`${reason}; ${consequence}`);
  }

  /** How the channel shows the operator a one-line notice (set by the bridge). */
  onNotice(fn: (line: string) => void): void {
    this.#notice = fn;
    for (const line of this.#pendingNotices.splice(0)) fn(line);
  }

  /** One line for the operator's terminal, now or once the channel is wired. */
  notify(line: string): void {
    if (this.#notice) this.#notice(line);
    else this.#pendingNotices.push(line);
  }

  #saveCommand(store: SessionService, c: RecordedCommand & { risk?: CommandRisk }): void {
    this.#commandsUnsaved++;
    // The risk checks run in order, and each row is handed to the store once its own is known;
    // the store inserts the rows that arrive together in one statement. (Each row used to wait
    // for the one before it to be stored: one 25 ms batch per row, ~28 ms each under load.)
    this.#commandOrder = this.#commandOrder
      .then(async () => {
        const risk = c.risk ?? (await this.#risk(c.input));
        this.#lastSaved = store.addCommand(this.row, { ...c, risk })
          .catch((err: unknown) => this.log.error({ err }, 'command could not be saved'))
          .finally(() => {
            this.#commandsUnsaved--;
          });
      })
      .catch((err: unknown) => {
        this.#commandsUnsaved--;
        this.log.error({ err }, 'command could not be saved');
      });
  }

  /** Resolves once every command line handed over so far is stored (or failed). */
  #commandsSaved(): Promise<void> {
    return this.#commandOrder.then(() => this.#lastSaved);
  }

  /**
   * Null while the command log keeps up; else resolves once every command line so far is saved.
   * A shell's input is read no further meanwhile (commandPolicy.ts): an operator who floods it
   * with lines (refused ones each make a row) had the gateway queue a row, a closure and a
   * database write per line without bound (DESIGN rule 13).
   */
  commandsBehind(): Promise<void> | null {
    return this.#commandsUnsaved > COMMANDS_UNSAVED ? this.#commandsSaved() : null;
  }

  /** Risky commands are flagged in the command log: a line a deny filter matches, or a confirm filter. */
  async #risk(line: string): Promise<CommandRisk> {
    const verdict = await this.gw.services.commandFilters.check(this.filterContext, line);
    return verdict.action === 'deny' ? 'denied' : verdict.action === 'confirm' ? 'warning' : 'normal';
  }

  /** Who, where and as whom, for the command filters. */
  get filterContext(): FilterContext {
    return { userId: this.row.userId, assetId: this.grant.asset.id, systemUserId: this.grant.systemUser.id };
  }

  /** A command that did not come from the command tap (an exec, a line a filter refused). */
  recordCommand(input: string, risk?: CommandRisk): void {
    const at = new Date();
    this.#saveCommand(sessionStore(this.gw), { input: input.slice(0, 10_000), output: '', offsetMs: at.getTime() - this.row.startedAt.getTime(), at, ...(risk ? { risk } : {}) });
  }

  /** The line the operator is typing in a shell, as the terminal emulator shows it; null when unknown. */
  currentLine(): Promise<ScreenLine | null> {
    return this.#commands?.currentLine?.() ?? Promise.resolve(null);
  }

  /**
   * Operator → backend bytes. Returns false when the recording is behind (an upload hashed faster
   * than its thread keeps up, a disk behind): the caller stops reading the operator until
   * whenDrained() calls back, as for output. Without it a 1 GiB rsync upload left up to 54 MiB of
   * batches waiting for the hashing thread (issue 13: RSS flat during a transfer).
   */
  input(chunk: Buffer): boolean {
    this.#seq++;
    this.bytesIn += chunk.length;
    this.lastActivityAt = Date.now();
    const recorded = this.#cast ? this.#cast.input(chunk) : true;
    this.#commands?.input(chunk);
    // Keystrokes go on the bus only for a watcher who asked, and only once echoed (no passwords).
    if (this.#watchers.wants(this.id)?.keystrokes) for (const text of this.#echoed.input(chunk.toString('utf8'))) this.#stream('i', text);
    return recorded;
  }

  readonly #echoed = new EchoedInput();
  /** Events so far (output, resizes, input): a watcher's screen holds those up to a number, the stream carries the rest. */
  #seq = 0;

  /** Live view: only sessions someone watches are put on the bus (off the data path otherwise). */
  #stream(kind: 'o' | 'i' | 'r', data: string): void {
    this.gw.services.bus.publish('session.stream', { sessionId: this.id, kind, data, t: (Date.now() - this.row.startedAt.getTime()) / 1000, seq: this.#seq });
  }

  /**
   * The screen as recorded so far, for a watcher who joins, and the number of the last event it
   * holds: the watcher takes from the stream only the events after it. Both are fixed now, before
   * anything else can happen in this session; the replay itself comes later. Null screen: no
   * terminal recording to show (unrecorded, or it failed).
   */
  async screen(): Promise<{ seq: number; screen: Screen | null }> {
    const seq = this.#seq;
    const screen = this.#cast?.screen?.() ?? Promise.resolve(null);
    return { seq, screen: await screen.catch((err: unknown) => {
      this.log.warn({ err }, 'live view: the screen could not be rebuilt from the recording');
      return null;
    }) };
  }

  /**
   * Backend → operator bytes (stdout). Returns false when the recording is behind the stream:
   * the caller stops reading the backend until whenDrained() calls back (backpressure through
   * the SSH window; nothing is dropped from the record).
   */
  output(chunk: Buffer): boolean {
    this.#seen(chunk);
    return this.#cast ? this.#cast.output(chunk) : true;
  }

  /** Backend → operator stderr bytes; as output(). */
  errorOutput(chunk: Buffer): boolean {
    this.#seen(chunk);
    return this.#cast ? this.#cast.errorOutput(chunk) : true;
  }

  /** Calls `fn` once the recording has caught up (at once when it is not behind). */
  whenDrained(fn: () => void): void {
    if (this.#cast) this.#cast.whenDrained(fn);
    else queueMicrotask(fn);
  }

  /** Resolves at the backend's next output, or after `ms` without any (the command guard's wait). */
  nextOutput(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#outputWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#outputWaiters.add(done);
    });
  }

  readonly #outputWaiters = new Set<() => void>();

  #seen(chunk: Buffer): void {
    if (this.#outputWaiters.size > 0) for (const done of [...this.#outputWaiters]) done();
    this.#seq++;
    this.bytesOut += chunk.length;
    // Output is activity too: a shell running `top` or a build is not idle.
    this.lastActivityAt = Date.now();
    this.#commands?.output(chunk);
    const wants = this.#watchers.wants(this.id);
    if (!wants) return;
    const text = this.#decoder.write(chunk);
    if (wants.keystrokes) for (const typed of this.#echoed.output(text)) this.#stream('i', typed);
    this.#stream('o', text);
  }

  readonly #decoder = new StringDecoder('utf8');

  /** Bytes moved without a terminal stream to tap (SFTP payloads): counted, not recorded or watched. */
  transferred(input: number, output: number): void {
    this.bytesIn += input;
    this.bytesOut += output;
    this.lastActivityAt = Date.now();
  }

  resize(cols: number, rows: number): void {
    this.#seq++;
    this.#cast?.resize(cols, rows);
    this.#commands?.resize(cols, rows);
    if (this.#watchers.wants(this.id)) this.#stream('r', `${cols}x${rows}`);
  }

  /** Transfer actions in use beyond the session's own (an open file's download, an rsync's upload), each with who to tell when it is lost. */
  readonly #uses = new Map<Action, Set<(why: string) => void>>();

  /**
   * While a transfer runs on `action` (SFTP file handles, rsync, legacy scp), the registry's
   * rule 11 re-check asks for it too, on every change and on its timer: once it no longer holds,
   * `onLost` is called (once) with the words for the operator. Returns how to stop watching.
   */
  whileAllowed(action: Action, onLost: (why: string) => void): () => void {
    let set = this.#uses.get(action);
    if (!set) this.#uses.set(action, (set = new Set()));
    set.add(onLost);
    return () => {
      set.delete(onLost);
      if (set.size === 0 && this.#uses.get(action) === set) this.#uses.delete(action);
    };
  }

  /** The transfer actions in use now (the registry re-checks each). */
  get actionsInUse(): Action[] {
    return [...this.#uses.keys()];
  }

  /** The registry found `action` no longer allowed: everyone using it is told, and stops watching. */
  actionLost(action: Action): void {
    const set = this.#uses.get(action);
    if (!set) return;
    this.#uses.delete(action);
    const why = `${action} is no longer allowed to you on ${this.grant.asset.name}`;
    this.log.info({ action }, 'a transfer action was revoked during the session');
    for (const fn of set) fn(why);
  }

  /** How the channel handler stops this session when the registry ends it (rule 11, idle, shutdown). */
  onTerminate(fn: (reason: string) => void): void {
    this.#terminator = fn;
    if (this.#termination) fn(this.#termination.reason);
  }

  get termination(): Termination | null {
    return this.#termination;
  }

  /** Ends the session from outside (rule 11, idle timeout, an admin, shutdown); the reason is shown to the operator. */
  terminate(reason: string, opts: { by?: string | null; status?: SessionStatus } = {}): void {
    if (this.#termination || this.#ended) return;
    this.#termination = { reason, by: opts.by ?? null, status: opts.status ?? 'terminated' };
    this.log.info({ reason, by: opts.by }, 'session terminated');
    this.#terminator?.(reason);
  }

  /** Flushes the recording, saves the commands and closes the Session row. Idempotent. */
  end(result: SessionEnd): Promise<void> {
    if (!this.#ended) {
      this.#ended = this.#finish(result);
      this.gw.sessions.ending(this.#ended);
    }
    return this.#ended;
  }

  async #finish(result: SessionEnd): Promise<void> {
    this.gw.sessions.remove(this);
    try {
      await this.#commands?.dispose();
    } catch (err) {
      this.log.error({ err }, 'command tap failed to close');
    }
    await this.#cast?.close().catch((err: unknown) => this.log.error({ err }, 'recording failed to close'));
    await this.#commandsSaved();
    const t = this.#termination;
    const final: SessionEnd = t
      ? { ...result, status: t.status, endReason: result.endReason ?? t.reason, terminatedBy: result.terminatedBy ?? t.by }
      : result;
    try {
      await sessionStore(this.gw).end(this.id, { ...final, bytesIn: this.bytesIn, bytesOut: this.bytesOut });
    } catch (err) {
      this.log.error({ err }, 'session row could not be closed');
    }
    this.gw.services.bus.publish('session.ended', { sessionId: this.id });
    this.#watchers.forget(this.id);
    this.log.info({ status: final.status, bytesIn: this.bytesIn, bytesOut: this.bytesOut, exitStatus: final.exitStatus, endReason: final.endReason }, 'session ended');
  }
}
