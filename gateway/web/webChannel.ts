// The web terminal's operator channel: a websocket made to look like an ssh2 session channel
// to the pipeline (OperatorChannel). Binary frames are the operator's keystrokes and the
// backend's output; text frames are JSON control messages (resize from the browser; ready,
// exit and ended to it). The socket may drop and a new one be attached (reconnect): while
// none is attached, output waits in the stream's buffer, and once that is full the backend is
// paused (the pipeline's own backpressure), so nothing is lost and nothing grows unbounded.
import { Duplex, Writable } from 'node:stream';
import type { WebSocket, RawData } from 'ws';
import { z } from 'zod';
import type { OperatorChannel } from '../operatorChannel.ts';
import { MAX_COLS, MAX_ROWS } from '../../core/terminalSize.ts';

/** Output queued in the socket beyond this makes the channel say "wait" to the pipeline. */
const SOCKET_BUDGET_BYTES = 256 * 1024;

/** What the browser may say besides keystrokes (rule 3: anything else, or out of bounds, is ignored). */
const ControlMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('resize'), cols: z.number().int().min(1).max(MAX_COLS), rows: z.number().int().min(1).max(MAX_ROWS) }),
]);

/** What the server says besides output (JSON text frames). */
export type ServerMessage =
  | { type: 'ready'; resume: string; reconnectSeconds: number }
  /** The audited session behind the terminal started (its id, as in the API). */
  | { type: 'session'; id: string }
  /** The last frame: the shell's exit, and why the session was ended when it was (terminated, revoked, idle). */
  | { type: 'exit'; status: number | null; signal: string | null; reason: string | null };

export class WebChannel extends Duplex implements OperatorChannel {
  /** Ordered with stdout: a terminal shows both on one screen. */
  readonly stderr: Writable;
  #ws: WebSocket | null = null;
  #detachWs: (() => void) | null = null;
  /** Writes that came while no socket was attached, with their callbacks: sent on attach. */
  #held: Array<{ chunk: Buffer; done: () => void }> = [];
  #exit: { status: number | null; signal: string | null } | null = null;
  #finished = false;
  /** The stream's buffer was full at the last keystrokes: the socket is paused until _read. */
  #inputHeld = false;
  /** How the socket is closed after the exit frame: normally, or 1008 when privileges were withdrawn. */
  closeWith: { code: number; reason: string } = { code: 1000, reason: 'session ended' };
  /** Why the session was ended, if it was (set by the web terminal once the session opens). */
  sessionEnd: () => string | null = () => null;

  constructor(private readonly onResize: (cols: number, rows: number) => void) {
    super({ allowHalfOpen: true, decodeStrings: true });
    this.stderr = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        this.write(chunk);
        done();
      },
    });
  }

  get attached(): boolean {
    return this.#ws !== null;
  }

  /** The session ended and the last frame went out: the socket is closed, not awaited back. */
  get finished(): boolean {
    return this.#finished;
  }

  /** Puts `ws` in charge of the terminal (the first socket, or a reconnected one). */
  attach(ws: WebSocket, ready: ServerMessage): void {
    this.#detachWs?.();
    this.#ws = ws;
    const onMessage = (data: RawData, isBinary: boolean): void => {
      if (isBinary) {
        const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
        // Keystrokes the pipeline cannot take now (the asset stopped reading) wait in the
        // browser, not here: the socket is not read again until the pipeline asks (rule 13).
        if (chunk.length > 0 && !this.destroyed && !this.push(chunk)) {
          this.#inputHeld = true;
          ws.pause();
        }
        return;
      }
      let msg: unknown;
      try {
        msg = JSON.parse(String(data));
      } catch {
        return;
      }
      const parsed = ControlMessage.safeParse(msg);
      if (parsed.success) this.onResize(parsed.data.cols, parsed.data.rows);
    };
    ws.on('message', onMessage);
    if (this.#inputHeld) ws.pause();
    this.#detachWs = () => ws.off('message', onMessage);
    this.#send(JSON.stringify(ready));
    for (const { chunk, done } of this.#held.splice(0)) this.#sendOutput(chunk, done);
  }

  /** The socket dropped: output waits (bounded) until another is attached or the channel is destroyed. */
  detach(ws: WebSocket): void {
    if (this.#ws !== ws) return;
    this.#detachWs?.();
    this.#detachWs = null;
    this.#ws = null;
  }

  /** One control message to the browser (when a socket is attached). */
  control(msg: ServerMessage): void {
    this.#send(JSON.stringify(msg));
  }

  exit(status: number): void;
  exit(signalName: string, coreDumped?: boolean, msg?: string): void;
  exit(statusOrSignal: number | string): void {
    this.#exit = typeof statusOrSignal === 'number' ? { status: statusOrSignal, signal: null } : { status: null, signal: statusOrSignal };
  }

  override _read(): void {
    // Keystrokes are pushed as they arrive; once the pipeline has room again, the socket is read again.
    this.#readInputAgain();
  }

  /** Reads the socket again (its frames now go where the stream's state sends them). */
  #readInputAgain(): void {
    if (!this.#inputHeld) return;
    this.#inputHeld = false;
    this.#ws?.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (!this.#ws) {
      this.#held.push({ chunk, done: () => done() });
      return;
    }
    this.#sendOutput(chunk, () => done());
  }

  /** After the last output (endChannel): the exit frame, then the socket is closed normally. */
  override _final(done: (err?: Error | null) => void): void {
    const finish = (): void => {
      this.#finished = true;
      this.#send(JSON.stringify({ type: 'exit', status: this.#exit?.status ?? null, signal: this.#exit?.signal ?? null, reason: this.sessionEnd() } satisfies ServerMessage));
      // The session is over: keystrokes go nowhere, and a socket paused on a flood of them must
      // read the browser's answer to the close.
      this.#detachWs?.();
      this.#detachWs = null;
      this.#readInputAgain();
      this.#ws?.close(this.closeWith.code, this.closeWith.reason);
      done();
    };
    if (this.#ws) finish();
    else this.#held.push({ chunk: Buffer.alloc(0), done: finish });
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.#detachWs?.();
    this.#readInputAgain();
    for (const { done: release } of this.#held.splice(0)) release();
    this.stderr.destroy();
    done(err);
  }

  #sendOutput(chunk: Buffer, done: () => void): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== ws.OPEN) {
      done();
      return;
    }
    if (chunk.length === 0) {
      done();
      return;
    }
    // Within the budget the write completes at once (no round trip per chunk: keystroke echo is
    // latency-bound); beyond it, once the socket has taken it (the browser reads slower than the backend writes).
    if (ws.bufferedAmount < SOCKET_BUDGET_BYTES) {
      ws.send(chunk, { binary: true });
      done();
    } else ws.send(chunk, { binary: true }, () => done());
  }

  #send(text: string): void {
    const ws = this.#ws;
    if (ws && ws.readyState === ws.OPEN) ws.send(text);
  }
}
