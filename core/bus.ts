import { EventEmitter } from 'node:events';

/** Messages about live sessions, wherever they run. */
export interface BusMessages {
  /** End a live session; `by` is who asked, shown to the operator and stored on the row. */
  'session.terminate': { sessionId: string; by: string; reason: string };
  /**
   * Output of a watched session, for live monitoring; input ("i") only for a watcher that asked, and only echoed input.
   * `seq` counts the session's events: a screen (session.screen) holds those up to its own `seq`.
   */
  'session.stream': { sessionId: string; kind: 'o' | 'i' | 'r'; data: string; t: number; seq: number };
  /** A watcher joining asks the process that holds the session for its current screen. */
  'session.screen.request': { sessionId: string; requestId: string };
  /** The holder heard the request: the screen follows once replayed (a watcher not told so soon reads the recording itself). */
  'session.screen.ack': { requestId: string };
  /** The answer: the screen as recorded up to event `seq` (null: the session has no terminal recording to show). */
  'session.screen': { sessionId: string; requestId: string; seq: number; screen: { cols: number; rows: number; data: string; t: number } | null };
  'session.ended': { sessionId: string };
  /**
   * A live-view watcher starts or renews (on) or stops watching; the gateway streams only
   * watched sessions. A watch is a lease: it ends `leaseMs` after the last renewal.
   */
  'session.watch': { sessionId: string; watchId: string; on: boolean; keystrokes: boolean; leaseMs: number };
  /** A command is held by a `confirm` filter, waiting for an admin. */
  'command.pending': { id: string; sessionId: string | null; jobId: string | null; userId?: string | null; username: string; assetName: string; systemUsername: string; command: string; filter: string; createdAt: number; expiresAt: number };
  /** A held command was decided (or expired: approved false, by null). */
  'command.decided': { requestId: string; approved: boolean; by: string | null };
  /** A process that may have missed `command.pending` messages (it just started, or its bus reconnected) asks holders to announce theirs again. */
  'command.sync': { reason: 'start' | 'reconnect' };
  /**
   * A user's live privileges are withdrawn now (an admin lock, a password reset or role change by an admin):
   * every process ends that user's SSH sessions and connections and closes their websockets.
   */
  'user.revoked': { userId: string; reason: string };
  /**
   * One web session or API token of this user ended (logout, token deleted, password changed):
   * sockets held on one are checked again. Not an access change: no cache is dropped, so a user
   * who revokes their own credentials in a loop makes no process reload anything.
   */
  'credentials.revoked': { userId: string };
  /** Cancel this job (POST /jobs/:id/cancel reached a process other than the one running it): the one running it stops it. */
  'job.cancel': { jobId: string };
  /** Users, groups, assets, nodes, system users, permissions or command filters changed somewhere: drop caches (see ChangeFeed). */
  'access.changed': { kind: string };
}

export type Topic = keyof BusMessages;

/**
 * The one way live-session control travels: terminate, watch, confirmations; and the one way
 * caches of domain data in every process learn of a change (`access.changed`, see ChangeFeed).
 * Callers never assume the session lives in their process. In-process by default; a PostgreSQL
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

export interface Envelope { __bastionBus: true; topic: Topic; message: unknown }

function isEnvelope(m: unknown): m is Envelope {
  return typeof m === 'object' && m !== null && (m as Envelope).__bastionBus === true;
}

/** The IPC channel to another process: the primary's view of a worker, or a worker's of the primary. */
export interface BusPeer {
  /** The callback hears a failed send (a worker exiting): without one, Node raises it as an 'error' event. */
  send(message: Envelope, callback?: (err: Error | null) => void): unknown;
  on(event: 'message', fn: (message: unknown) => void): unknown;
}

/**
 * A bus for node:cluster: a worker sends what it publishes to the primary; the primary
 * delivers it locally and relays it to every other worker. Local subscribers always hear
 * their own process's messages first.
 */
export class ClusterBus extends InProcessBus {
  readonly #peers = new Set<BusPeer>();

  addPeer(peer: BusPeer, relay: boolean): void {
    this.#peers.add(peer);
    peer.on('message', (m) => {
      if (!isEnvelope(m)) return;
      super.publish(m.topic, m.message as never);
      if (relay) for (const other of this.#peers) if (other !== peer) trySend(other, m);
    });
  }

  removePeer(peer: BusPeer): void {
    this.#peers.delete(peer);
  }

  override publish<T extends Topic>(topic: T, message: BusMessages[T]): void {
    super.publish(topic, message);
    const envelope: Envelope = { __bastionBus: true, topic, message };
    for (const peer of this.#peers) trySend(peer, envelope);
  }
}

const ignoreSendFailure = (): void => undefined;

function trySend(peer: BusPeer, m: Envelope): void {
  try {
    peer.send(m, ignoreSendFailure);
  } catch {
    // A worker that is exiting; it is removed when its exit is seen.
  }
}
