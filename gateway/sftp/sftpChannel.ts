// What an SFTP channel needs beyond ssh2's server-side SFTP object: a line on the client's
// stderr, an exit status, a VERSION that lists extensions, raw packets (extension replies),
// and flow control. ssh2's SFTP server has none of these (it is not a Channel and always
// answers INIT with a bare VERSION 3), so they are done here on its channel through ssh2's
// protocol object, guarded in case its shape changes (ssh2 1.17, lib/protocol/SFTP.js).
import type { SFTPWrapper } from 'ssh2';
import { oneLine } from '../terminalErrors.ts';

interface ChannelInternals {
  outgoing?: { id: number; state: string; window: number; packetSize: number };
  incoming?: { window: number };
  push?: (data: Buffer | null) => unknown;
  _version?: number;
  _extensions?: Record<string, string>;
  _buffer?: Buffer[];
  _waitWindow?: boolean;
  _waitChanDrain?: boolean;
  _chunkcb?: (() => void) | undefined;
  _protocol?: {
    channelData?: (chan: number, data: Buffer) => void;
    channelExtData?: (chan: number, data: Buffer, type: number) => void;
    channelWindowAdjust?: (chan: number, amount: number) => void;
    exitStatus?: (chan: number, status: number) => void;
  };
}

/** ssh2's channel window (lib/Channel.js MAX_WINDOW), refilled when half of it is used. */
const MAX_WINDOW = 2 * 1024 * 1024;

function internals(sftp: SFTPWrapper): ChannelInternals {
  return sftp as unknown as ChannelInternals;
}

/** One line on the client's stderr (OpenSSH's sftp and scp print it). */
export function writeStderr(sftp: SFTPWrapper, line: string): void {
  flushAnswers(sftp);
  const { outgoing, _protocol: proto } = internals(sftp);
  const data = Buffer.from(`${oneLine(line)}\r\n`);
  if (!outgoing || outgoing.state !== 'open' || outgoing.window < data.length || typeof proto?.channelExtData !== 'function') return;
  outgoing.window -= data.length;
  proto.channelExtData(outgoing.id, data, 1);
}

/** The exit-status request: scp counts a session without one (or not 0) as failed. */
export function sendExitStatus(sftp: SFTPWrapper, status: number): void {
  flushAnswers(sftp);
  const { outgoing, _protocol: proto } = internals(sftp);
  if (!outgoing || (outgoing.state !== 'open' && outgoing.state !== 'eof') || typeof proto?.exitStatus !== 'function') return;
  proto.exitStatus(outgoing.id, status);
}

/**
 * Sends one whole SFTP packet (length prefix included) the way ssh2 sends its own: now as far
 * as the client's window allows, the rest queued behind ssh2's own buffered packets.
 */
export function sendPacket(sftp: SFTPWrapper, packet: Buffer): void {
  flushAnswers(sftp);
  const c = internals(sftp);
  const rest = c._buffer && c._buffer.length > 0 ? packet : tryWrite(c, packet);
  if (rest) c._buffer?.push(rest);
}

/** ssh2's tryWritePayload: what did not fit in the window is returned. */
function tryWrite(c: ChannelInternals, payload: Buffer): Buffer | undefined {
  const { outgoing, _protocol: proto } = c;
  if (!outgoing || outgoing.state !== 'open' || typeof proto?.channelData !== 'function') return undefined;
  let p = 0;
  while (p < payload.length && outgoing.window > 0) {
    const n = Math.min(payload.length - p, outgoing.window, outgoing.packetSize);
    outgoing.window -= n;
    proto.channelData(outgoing.id, payload.subarray(p, p + n));
    p += n;
  }
  if (outgoing.window === 0) {
    c._waitWindow = true;
    // ssh2 calls this when the client opens its window again (its own drainBuffer does the same).
    c._chunkcb = () => drain(c);
  }
  return p < payload.length ? payload.subarray(p) : undefined;
}

function drain(c: ChannelInternals): void {
  c._chunkcb = undefined;
  const buffer = c._buffer ?? [];
  while (buffer.length > 0) {
    const rest = tryWrite(c, buffer[0]!);
    if (rest) {
      buffer[0] = rest;
      return;
    }
    buffer.shift();
  }
}

/** The longest packet answers are gathered into, whatever larger packets the client allows. */
const MAX_GATHERED_PACKET = 64 * 1024;
/** An SFTP DATA answer's header: length, type (103), request id, data length. */
const DATA_HEADER = 13;
const SSH_FXP_DATA = 103;

/** What coalesceAnswers holds back per channel: sent on by flush, `bytes` of it. */
interface HeldAnswers {
  flush(): void;
  bytes(): number;
  /** Bytes of answers the client's window did not take, copied into ssh2's queue to wait there. */
  copied: number;
  /** The widest the client's window was seen (its size when opened, as a rule). */
  widest: number;
}
const heldAnswers = new WeakMap<SFTPWrapper, HeldAnswers>();

/** Sends on what coalesceAnswers holds for this channel: before any other packet goes out on it. */
function flushAnswers(sftp: SFTPWrapper): void {
  heldAnswers.get(sftp)?.flush();
}

type AnswerMethod = 'status' | 'handle' | 'name' | 'attrs' | 'end' | 'destroy';
const OTHER_WRITES: readonly AnswerMethod[] = ['status', 'handle', 'name', 'attrs', 'end', 'destroy'];

/**
 * DATA answers leave as one stream cut into packets as large as the client allows, as
 * OpenSSH's sshd sends sftp-server's output (issue 13: PuTTY downloads). ssh2 sends each
 * answer as packets of its own: a 32 KiB READ's answer (32781 bytes) to PuTTY, which allows
 * 16 KiB packets, went as 16384 + 16384 + 13 bytes — a third of the packets the gateway
 * built, padded, encrypted, MACed and wrote carried 13 bytes — and each answer was first
 * copied into a buffer of its own.
 *
 * Answers are copied into one packet-sized buffer as they are made; it is sent whenever it is
 * full, and what is left once the callbacks under way are done (process.nextTick: nothing
 * waits for a timer, and answers made together — a read-ahead span's — share packets). Every
 * other packet on the channel (status, handle, name, attrs, raw packets, stderr, exit-status,
 * its end) first sends what is held, so the stream stays in order. What the client's window
 * does not take now waits in ssh2's own queue, as ssh2's answers do.
 */
export function coalesceAnswers(sftp: SFTPWrapper): void {
  const c = internals(sftp);
  const proto = c._protocol;
  const originals = OTHER_WRITES.map((m) => [m, sftp[m]] as const);
  if (!c.outgoing || typeof proto?.channelData !== 'function' || !Array.isArray(c._buffer) || originals.some(([, f]) => typeof f !== 'function')) return;
  const outgoing = c.outgoing;
  let packet: Buffer | null = null;
  let held = 0;
  let scheduled = false;
  const header = Buffer.allocUnsafe(DATA_HEADER);

  const send = (): void => {
    if (held === 0 || !packet) return;
    const bytes = packet.subarray(0, held);
    held = 0;
    // ssh2's queue as it is now: ssh2 replaces the array when it drains it (its drainBuffer, after a
    // status or attrs answer met a closed window); answers put in the old one were never sent.
    const queue = c._buffer;
    if (outgoing.state !== 'open' || !queue) return;
    // channelData copies the bytes into its packet at once: the buffer is free again, unless
    // part of it waits for the window (then that part is copied).
    const rest = queue.length > 0 ? bytes : tryWrite(c, bytes);
    if (!rest) return;
    queue.push(Buffer.from(rest));
    state.copied += rest.length;
  };
  const append = (b: Buffer): void => {
    let p = 0;
    while (p < b.length) {
      packet ??= Buffer.allocUnsafe(Math.max(1, Math.min(outgoing.packetSize, MAX_GATHERED_PACKET)));
      const n = Math.min(packet.length - held, b.length - p);
      b.copy(packet, held, p, p + n);
      held += n;
      p += n;
      if (held === packet.length) send();
    }
  };
  const flush = (): void => {
    scheduled = false;
    send();
  };
  const state: HeldAnswers = { flush, bytes: () => held, copied: 0, widest: outgoing.window };
  heldAnswers.set(sftp, state);

  const data = sftp.data;
  sftp.data = function gatheredData(this: SFTPWrapper, reqid: number, payload: Buffer | string, encoding?: BufferEncoding): void {
    if (!Buffer.isBuffer(payload)) {
      flush();
      data.call(this, reqid, payload, encoding);
      return;
    }
    if (outgoing.state !== 'open') return;
    header.writeUInt32BE(DATA_HEADER - 4 + payload.length, 0);
    header[4] = SSH_FXP_DATA;
    header.writeUInt32BE(reqid >>> 0, 5);
    header.writeUInt32BE(payload.length, 9);
    append(header);
    append(payload);
    if (held > 0 && !scheduled) {
      scheduled = true;
      process.nextTick(flush);
    }
  } as SFTPWrapper['data'];
  for (const [m, f] of originals) {
    (sftp as unknown as Record<AnswerMethod, (...args: unknown[]) => unknown>)[m] = function flushedFirst(this: SFTPWrapper, ...args: unknown[]): unknown {
      flush();
      return (f as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
}

export interface InitGate {
  /**
   * Answers the client's INIT (now, or when it has arrived) with VERSION 3 and these
   * extensions, then lets the client's requests through.
   */
  release(extensions: ReadonlyArray<readonly [string, string]>): void;
}

/**
 * Holds the client's INIT until `release`: the extensions to announce are the asset's, known
 * only once it is connected. A client sends nothing else before VERSION, so what is held is
 * a few bytes.
 */
export function holdInit(sftp: SFTPWrapper): InitGate {
  const c = internals(sftp);
  const original = c.push?.bind(sftp);
  if (!original) return { release: () => undefined };
  let held = Buffer.alloc(0);
  let extensions: ReadonlyArray<readonly [string, string]> | null = null;
  let passing = false;

  const pass = (data: Buffer | null): unknown => {
    passing = true;
    c.push = original;
    return original(data);
  };
  const tryAnswer = (): unknown => {
    if (!extensions || held.length < 4) return undefined;
    const len = held.readUInt32BE(0);
    // Not an INIT we can read: ssh2's own parser answers it (with its fatal error).
    if (len < 5 || len > 64 * 1024 || held[4] !== 1) return pass(held);
    if (held.length < 4 + len) return undefined;
    const version = held.readUInt32BE(5);
    const clientExtensions = readExtensions(held.subarray(9, 4 + len));
    if (!clientExtensions) return pass(held);
    const rest = held.subarray(4 + len);
    held = Buffer.alloc(0);
    c._version = version;
    c._extensions = clientExtensions;
    sendPacket(sftp, versionPacket(extensions));
    sftp.emit('ready');
    passing = true;
    c.push = original;
    return rest.length > 0 ? original(rest) : undefined;
  };
  c.push = (data: Buffer | null): unknown => {
    if (passing) return original(data);
    if (data === null) return pass(null);
    held = Buffer.concat([held, data]);
    if (held.length > 64 * 1024) return pass(held);
    return tryAnswer();
  };
  return {
    release(list) {
      if (passing || extensions) return;
      extensions = list;
      tryAnswer();
    },
  };
}

function readExtensions(buf: Buffer): Record<string, string> | null {
  const out: Record<string, string> = {};
  let p = 0;
  const str = (): string | null => {
    if (p + 4 > buf.length) return null;
    const n = buf.readUInt32BE(p);
    if (p + 4 + n > buf.length) return null;
    const s = buf.toString('utf8', p + 4, p + 4 + n);
    p += 4 + n;
    return s;
  };
  while (p < buf.length) {
    const name = str();
    const data = str();
    if (name === null || data === null) return null;
    out[name] = data;
  }
  return out;
}

function versionPacket(extensions: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts = extensions.flatMap(([name, data]) => [sshString(name), sshString(data)]);
  const body = Buffer.concat([Buffer.from([2, 0, 0, 0, 3]), ...parts]);
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32BE(body.length, 0);
  return Buffer.concat([len, body]);
}

function sshString(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32BE(b.length, 0);
  return Buffer.concat([len, b]);
}

export interface Backpressure {
  /** Call when the work behind has drained: what was held is read, and the client's window is opened again if it was held. */
  resume(): void;
}

/**
 * Flow control towards the client: while `busy()`, the client's window is not refilled
 * (ssh2 skips its window adjust when push returns false), so a client cannot pile up more
 * requests than one window (2 MiB) beyond what the gateway is already working on.
 *
 * While `answersWaiting()` (answers pile up for a client that does not open its window), what
 * the client sends is not even read: it is held as it came, at most the rest of one window, and
 * read by resume(). Requests answered at once, without the asset (a READ of an invalid handle),
 * would otherwise each add an answer for a client that reads none (DESIGN rule 13).
 */
export function backpressure(sftp: SFTPWrapper, busy: () => boolean, answersWaiting: () => boolean = () => false): Backpressure {
  const c = internals(sftp);
  const inner = c.push;
  /** Data (null: its end) held unread while answers wait for the client, oldest first. */
  const held: Array<Buffer | null> = [];
  if (inner) {
    // Installed before holdInit, which wraps this one and puts it back when INIT is answered.
    c.push = (data: Buffer | null): unknown => {
      if (held.length > 0 || answersWaiting()) {
        held.push(data);
        return false;
      }
      const r = inner.call(sftp, data);
      return data !== null && (busy() || answersWaiting()) ? false : r;
    };
  }
  return {
    resume() {
      while (held.length > 0) {
        if (answersWaiting() || !inner) return;
        inner.call(sftp, held.shift()!);
      }
      if (busy()) return;
      const { incoming, outgoing, _protocol: proto } = c;
      if (!c._waitChanDrain || !incoming || !outgoing || typeof proto?.channelWindowAdjust !== 'function') return;
      c._waitChanDrain = false;
      if (outgoing.state === 'closed' || incoming.window > MAX_WINDOW / 2) return;
      const amount = MAX_WINDOW - incoming.window;
      incoming.window += amount;
      proto.channelWindowAdjust(outgoing.id, amount);
    },
  };
}

/** Bytes of answers copied into ssh2's queue so far because the client's window did not take them (coalesceAnswers). */
export function answerBytesCopied(sftp: SFTPWrapper): number {
  return heldAnswers.get(sftp)?.copied ?? 0;
}

/** Bytes of answers waiting in ssh2 for the client to open its window. */
export function outgoingBacklog(sftp: SFTPWrapper): number {
  return (internals(sftp)._buffer ?? []).reduce((n, b) => n + b.length, 0);
}

/**
 * Whether an answer made now goes out at once: nothing waits in ssh2's queue and the client's
 * window has room beyond the answers held for this tick — a packet's worth (or a quarter of the
 * widest window seen, if less: a client adjusts its window before it is that low), so that a
 * nearly closed window does not cut answers into packets of a few bytes (PuTTY got runs of
 * 21-byte ones). When not, the client's next window adjust is waited for (whenWindowOpens).
 *
 * A READ's answer that the window does not take is copied into ssh2's queue and waits there:
 * behind a client that reads slower than the asset answers (paramiko), nearly every byte of a
 * download was such a copy, each waiting long enough for V8 to move it to its old generation,
 * where only a full collection frees it. An answer that waits for the window before it is made
 * stays in its read buffer, which is used again.
 */
export function windowHasRoom(sftp: SFTPWrapper): boolean {
  const c = internals(sftp);
  const { outgoing } = c;
  if (!outgoing || outgoing.state !== 'open') return true;
  const answers = heldAnswers.get(sftp);
  if (answers) answers.widest = Math.max(answers.widest, outgoing.window);
  const room = outgoing.window - (answers?.bytes() ?? 0);
  const enough = Math.max(1, Math.min(outgoing.packetSize, Math.floor((answers?.widest ?? 0) / 4)));
  if ((c._buffer?.length ?? 0) === 0 && room >= enough) return true;
  // ssh2 calls _chunkcb on the client's next window adjust only while it waits for one.
  c._waitWindow = true;
  return false;
}

/** The channel is gone: whatever waits for its window goes on (and finds it closed). */
export function stopWaitingForWindow(sftp: SFTPWrapper): void {
  for (const w of windowWaiters.get(sftp)?.splice(0) ?? []) w();
}

/** Callbacks waiting for the client's next window adjust, per SFTP channel. */
const windowWaiters = new WeakMap<SFTPWrapper, (() => void)[]>();

/**
 * Calls `fn` once, after the client next opens its window and ssh2 has sent what then fits.
 * ssh2 calls `_chunkcb` on the window adjust, but it also assigns `_chunkcb = drainBuffer`
 * again every time an answer finds the window empty — so a wrapper installed once is lost as
 * soon as an answer still on its way is buffered, and the pump it would restart waits forever
 * (a paramiko get of 64 MiB hung at ~40 MiB). `_chunkcb` is therefore made an accessor on this
 * channel: whatever ssh2 assigns stays the inner callback, and the waiters run after it.
 */
export function whenWindowOpens(sftp: SFTPWrapper, fn: () => void): void {
  const c = internals(sftp);
  if (!c._waitWindow) {
    queueMicrotask(fn);
    return;
  }
  let waiters = windowWaiters.get(sftp);
  if (!waiters) {
    const list: (() => void)[] = [];
    waiters = list;
    windowWaiters.set(sftp, list);
    let inner = c._chunkcb;
    const run = (): void => {
      const drain = inner;
      if (drain) drain.call(sftp);
      for (const w of list.splice(0)) w();
    };
    Object.defineProperty(c, '_chunkcb', {
      configurable: true,
      enumerable: true,
      get: () => (inner || list.length > 0 ? run : undefined),
      set: (v: (() => void) | undefined) => { inner = v; },
    });
  }
  waiters.push(fn);
}
