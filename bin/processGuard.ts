/**
 * The last line of defence (DESIGN rule 13): an `'error'` event that found no listener, or a
 * promise nobody awaited, must not take every operator's session down with it.
 *
 * What is safe to survive: an error that belongs to ONE network peer — a socket errno
 * (ECONNRESET, EPIPE, …) or one of ssh2's connection-level errors (its `level` says which
 * connection it came from). Such an error leaves only that connection in a bad state, and ssh2
 * and net destroy the connection themselves right after emitting it. Everything else (a
 * TypeError, an assertion, an error from our own code) may have left shared state half-updated:
 * it is logged and the process exits with status 1, cleanly, so that the cluster primary (or
 * the service manager) starts a fresh one instead of a process that keeps running wrong.
 */
import type { Logger } from '../core/logger.ts';

const PEER_ERRNOS = new Set([
  'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH',
  'ENOTFOUND', 'EAI_AGAIN', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END', 'ERR_SOCKET_CLOSED',
]);
/** ssh2 sets `level` on the errors it emits for one connection (client or server side). */
const SSH2_PEER_LEVELS = new Set(['client-socket', 'client-timeout', 'client-dns', 'client-authentication', 'protocol', 'socket', 'handshake']);

/** Whether an error that escaped every handler concerns only one peer connection. */
export function isPeerError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const { code, level } = err as Error & { code?: unknown; level?: unknown };
  if (typeof code === 'string' && PEER_ERRNOS.has(code)) return true;
  return typeof level === 'string' && SSH2_PEER_LEVELS.has(level);
}

export function installProcessGuard(log: Logger, exit: (code: number) => void = (code) => process.exit(code)): void {
  process.on('uncaughtException', (err: unknown, origin) => {
    if (isPeerError(err)) {
      log.warn({ err, origin }, 'a peer connection failed without a handler; that connection is dropped, the process keeps running');
      return;
    }
    log.fatal({ err, origin }, 'unexpected error; exiting so a fresh process takes over');
    exit(1);
  });
  process.on('unhandledRejection', (reason: unknown) => {
    if (isPeerError(reason)) {
      log.warn({ err: reason }, 'a peer connection failure was not awaited; the process keeps running');
      return;
    }
    log.fatal({ err: reason }, 'unhandled promise rejection; exiting so a fresh process takes over');
    exit(1);
  });
}
