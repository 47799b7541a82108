// The session switch (koko's proxy): bytes between the operator's channel and the backend
// channel, with the live session's taps on both directions, window changes and signals
// passed through, and an end that is the same whoever stops first.
import type { Transform } from 'node:stream';
import type { OperatorChannel } from '../operatorChannel.ts';
import type { BackendChannel } from '../backend.ts';
import type { LiveSession } from '../liveSession.ts';
import type { SessionState } from '../channels/sessionState.ts';
import type { GatewayContext } from '../context.ts';
import { pump, type Tap } from './pump.ts';
import { shellGuard } from './commandPolicy.ts';
import { lowerReadBuffer } from '../streamBuffers.ts';

export interface BridgeResult {
  exitStatus: number | null;
  exitSignal: string | null;
  /** Set when the registry ended the session (rule 11, idle, shutdown). */
  terminated: string | null;
  /** The operator's channel closed first. */
  operatorGone: boolean;
}

/** Takes the operator's input instead of the plain pump (the command filters' guard). */
export interface InputGate {
  input(chunk: Buffer): void;
  /** The operator's input ended: resolves once everything given to input() has been passed on or refused. */
  end(): Promise<void>;
  stop(): void;
}

export interface BridgeOptions {
  /** Keys the operator typed before the bridge (at the menu or a password prompt): they go through the guard first. */
  typeahead?: Buffer;
  /** Extra readers of the operator's input and the backend's output (legacy scp's transfer log), called before the bytes move on. */
  taps?: { input?: Tap; output?: Tap };
  /** Reads the backend's stderr before the operator does and passes on what the operator gets (rsync's file log: proxy/rsyncLog.ts). */
  stderrFilter?: Transform;
}

/**
 * What the operator's channel buffers while its pump is paused (the asset's window is shut, or the
 * recording is behind) before ssh2 stops refilling the operator's window: what they had been
 * granted still comes, ~2 MiB, then nothing until the pump reads again. ssh2's own mark is its
 * whole window: a 1 GiB rsync upload held 4 MiB here and 2-4 MiB queued toward the asset, bytes
 * that waited long enough to die in V8's old generation (issue 13: RSS +47-53 MiB).
 */
export const OPERATOR_READ_BUFFER = 64 * 1024;

/** The operator's bytes a bridge holds, looked at while it runs (tests: GatewayOptions.onBridge). */
export interface BridgeProbe {
  /** In the operator channel's buffer (read, not yet taken by the pump). */
  operatorBuffered(): number;
  /** Handed to the asset's channel and not yet sent (its window is shut). */
  towardAsset(): number;
  /** The pump has paused the operator's channel. */
  operatorPaused(): boolean;
  /** What the operator may still send before the gateway opens its window again; null for a channel that is not SSH. */
  operatorWindow(): number | null;
}

/**
 * Resolves once the backend channel or the operator's channel has closed. The command guard is
 * attached here when the session's TapPlan says so (proxy/channelTaps.ts), not by the caller.
 */
export function bridge(gw: GatewayContext, live: LiveSession, channel: OperatorChannel, remote: BackendChannel, state: SessionState, { typeahead, taps, stderrFilter }: BridgeOptions = {}): Promise<BridgeResult> {
  const backend = remote.stream;
  lowerReadBuffer(channel, OPERATOR_READ_BUFFER);
  gw.options.onBridge?.({
    operatorBuffered: () => channel.readableLength,
    towardAsset: () => backend.writableLength,
    operatorPaused: () => channel.isPaused(),
    operatorWindow: () => {
      const window = (channel as { incoming?: { window?: unknown } }).incoming?.window;
      return typeof window === 'number' ? window : null;
    },
  });
  const gate: InputGate | null = live.plan.commandGuard ? shellGuard(gw, live, channel, remote, state.pty !== null) : null;
  if (gate && typeahead?.length) gate.input(typeahead);
  else if (typeahead?.length) {
    live.input(typeahead);
    backend.write(typeahead);
  }
  const onInput = taps?.input;
  const onOutput = taps?.output;
  return new Promise((resolve) => {
    const result: BridgeResult = { exitStatus: null, exitSignal: null, terminated: null, operatorGone: false };
    // The recording may slow the backend's output down (never thin it): see LiveSession.output.
    const recorded = (fn: () => void): void => live.whenDrained(fn);
    const stops = [
      gate ? gated(channel, gate) : pump(channel, backend, onInput ? (c) => { onInput(c); return live.input(c); } : (c) => live.input(c), recorded),
      pump(backend, channel, onOutput ? (c) => { onOutput(c); return live.output(c); } : (c) => live.output(c), recorded),
      pump(stderrFilter ? backend.stderr.pipe(stderrFilter) : backend.stderr, channel.stderr, (c) => live.errorOutput(c), recorded),
    ];
    // A recording that stops holding the session (disk failure, truncation) is told in one line.
    live.onNotice((line) => {
      if (!channel.writable) return;
      if (state.pty) channel.write(`\r\n\x1b[1m[bastion] ${line}\x1b[0m\r\n`);
      else channel.stderr.write(`[bastion] ${line}\n`);
    });
    const unResize = state.onResize((cols, rows, width, height) => {
      backend.setWindow(rows, cols, height, width);
      live.resize(cols, rows);
    });
    state.signalTarget = backend;

    // The operator closed stdin (e.g. end of a piped file): pass the EOF on.
    const onOperatorEof = (): void => {
      if (gate) void gate.end().then(() => backend.end());
      else backend.end();
    };
    const onOperatorClose = (): void => {
      result.operatorGone = true;
      backend.close();
      finish();
    };
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      for (const stop of stops) stop();
      unResize();
      state.signalTarget = null;
      result.exitStatus = remote.exit.status;
      result.exitSignal = remote.exit.signal;
      backend.off('close', finish);
      channel.off('end', onOperatorEof);
      channel.off('close', onOperatorClose);
      resolve(result);
    };
    backend.once('close', finish);
    channel.once('end', onOperatorEof);
    channel.once('close', onOperatorClose);
    live.onTerminate((reason) => {
      result.terminated = reason;
      backend.close();
      // A backend that does not answer the close must not keep the session alive.
      setTimeout(finish, 2000).unref();
    });
  });
}

function gated(channel: OperatorChannel, gate: InputGate): () => void {
  const onData = (chunk: Buffer): void => gate.input(chunk);
  channel.on('data', onData);
  channel.resume();
  return () => {
    channel.off('data', onData);
    gate.stop();
  };
}
