import { EventEmitter } from 'node:events';

/** Messages about live sessions, wherever they run. */
export interface BusMessages {
  /** End a live session; `by` is who asked, shown to the operator and stored on the row. */
  'session.terminate': { sessionId: string; by: string; reason: string };
  /** Output (and input) of a watched session, for live monitoring. */
  'session.stream': { sessionId: string; kind: 'o' | 'i' | 'r'; data: string; t: number };
  'session.ended': { sessionId: string };
  /** A command held by a `confirm` filter was decided. */
  'command.decided': { requestId: string; approved: boolean; by: string };
}

export type Topic = keyof BusMessages;

/**
 * The one way live-session control travels: terminate, watch, confirmations. Callers never
 * assume the session lives in their process. In-process by default; a PostgreSQL
 * LISTEN/NOTIFY or Redis implementation plugs in here when gateways run as several processes.
 */
export interface Bus {
  publish<T extends Topic>(topic: T, message: BusMessages[T]): void;
  subscribe<T extends Topic>(topic: T, fn: (message: BusMessages[T]) => void): () => void;
  listeners(topic: Topic): number;
}

export class InProcessBus implements Bus {
  readonly #emitter = new EventEmitter();
  constructor() {
    this.#emitter.setMaxListeners(0);
  }
  publish<T extends Topic>(topic: T, message: BusMessages[T]): void {
    this.#emitter.emit(topic, message);
  }
  subscribe<T extends Topic>(topic: T, fn: (message: BusMessages[T]) => void): () => void {
    this.#emitter.on(topic, fn);
    return () => { this.#emitter.off(topic, fn); };
  }
  listeners(topic: Topic): number {
    return this.#emitter.listenerCount(topic);
  }
}
