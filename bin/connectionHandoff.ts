/**
 * The primary's side of the gateway workers' SSH port: it accepts each connection and hands it
 * to a worker, in turn. node:cluster's own round-robin did this until a worker died with a
 * connection on its way to it: the primary waited for a reply that never came, the socket was
 * neither closed nor given to another worker, and the operator's client waited for a banner
 * until its own timeout (20 s for ssh2's, forever for OpenSSH without ConnectTimeout). Here the
 * primary keeps its copy of each socket until a worker says it has it, and gives it to another
 * worker if the first exits (or is stopping) before it does. The primary never reads a byte.
 *
 * A worker greets a connection only once its "taken" is on its way to the primary (the IPC
 * write has completed), so a connection given again after its worker died has never been
 * greeted: the primary reads what its worker wrote before the channel's end, and gives again
 * only after that end.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Worker } from 'node:cluster';
import { numberedMessage, type PrimaryChannel } from './ipcMessage.ts';

/** Primary → worker, with the socket: serve it, and say so. */
export interface HandedConnection { __bastionConnection: number }
/** Worker → primary: `taken` false when it is stopping (it has closed its copy). */
export interface ConnectionTaken { __bastionConnectionTaken: number; taken: boolean }

const isHandedConnection = numberedMessage<HandedConnection>('__bastionConnection');
const isConnectionTaken = numberedMessage<ConnectionTaken>('__bastionConnectionTaken');

/**
 * While no worker can take connections (all restarting), the primary holds at most this many,
 * each for at most HOLD_MS, then closes them: a client hears the port close instead of waiting
 * for a banner that may not come. A worker starts in a few seconds; 20 s is ssh2's own
 * readyTimeout, and a held client is greeted as soon as one is up.
 */
export const HOLD_MAX = 128;
export const HOLD_MS = 20_000;

/**
 * A worker that has not said it took a connection this long after it was sent is not taking
 * them: one out of file descriptors never receives the socket (node answers the primary's
 * handle with a NACK no code sees), and a frozen one reads nothing. The primary then ends the
 * connection and closes its copy (the client hears the close instead of waiting, and the
 * primary's descriptors stay bounded) and gives that worker nothing for TAKE_PAUSE_MS, or until
 * it next says it took one. It is not given the socket again: a worker that is only slow may
 * still take it, and a client greeted by two workers is a protocol error.
 *
 * Ended (a FIN), not only closed: a socket sent to a frozen worker is also held by that worker
 * (in its unread IPC message), so closing the primary's copy alone left its client waiting for
 * the watchdog to kill the worker, 30 s and more.
 */
export const TAKE_MS = 10_000;
export const TAKE_PAUSE_MS = 30_000;

interface Held { sock: Socket; timer: NodeJS.Timeout }
interface OnItsWay { sock: Socket; worker: Worker; timer: NodeJS.Timeout }

export interface HandoffOptions {
  /**
   * Connections from one address held while no worker takes them (BASTION_MAX_STARTUPS_PER_SOURCE):
   * the primary never reads, so it does not see a held client leave, and one source that
   * connects and leaves over and over must not take every slot.
   */
  holdPerSource?: number;
}

export class ConnectionHandoff {
  readonly #server: Server;
  /** Workers that have said they take connections, in the order they are given them. */
  #workers: Worker[] = [];
  #next = 0;
  #nextId = 0;
  /** Sent to a worker that has not yet said it took them. */
  readonly #onTheirWay = new Map<number, OnItsWay>();
  readonly #held: Held[] = [];
  /** Workers given nothing until then: they did not take a connection in time. */
  readonly #pausedUntil = new Map<Worker, number>();
  readonly #say: (line: string) => void;
  readonly #holdPerSource: number;
  #closed = false;

  constructor(say: (line: string) => void, opts: HandoffOptions = {}) {
    this.#say = say;
    this.#holdPerSource = opts.holdPerSource ?? HOLD_MAX;
    this.#server = createServer({ pauseOnConnect: true }, (sock) => {
      sock.on('error', () => undefined);
      this.#give(sock);
    });
    this.#server.on('error', (err: Error) => say(`the SSH port failed: ${err.message}`));
  }

  /** Listens on `port` (0: a free one) and resolves with the port. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        const address = this.#server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  get listening(): boolean {
    return this.#server.listening;
  }

  /** Whether a worker would be given a connection now. */
  get taking(): boolean {
    return this.#workers.some((w) => this.#takes(w));
  }

  /** A worker that takes connections from now on (it has said it is ready); it answers through its 'message' events. */
  addWorker(worker: Worker): void {
    if (this.#workers.includes(worker)) return;
    this.#workers.push(worker);
    worker.on('message', (m: unknown) => {
      if (isConnectionTaken(m)) this.#taken(worker, m);
    });
    for (const held of this.#held.splice(0)) {
      clearTimeout(held.timer);
      this.#give(held.sock);
    }
  }

  /** A worker that exited or is stopping: it is given no more. */
  removeWorker(worker: Worker): void {
    this.#workers = this.#workers.filter((w) => w !== worker);
    this.#pausedUntil.delete(worker);
  }

  /**
   * A worker's process has exited and its channel has ended (its process's 'close'): what was
   * on its way to it goes to another. A "taken" it wrote before it died has been read by then,
   * and that connection, greeted by the dead worker, is not given again. Not on 'exit', which
   * can come first, nor on 'disconnect', which node holds back while a handle it sent is
   * unanswered.
   */
  workerClosed(worker: Worker): void {
    this.removeWorker(worker);
    for (const [id, entry] of this.#onTheirWay) if (entry.worker === worker) this.#give(this.#takeBack(id)!.sock);
  }

  /** Stops listening and closes every connection no worker has taken yet. */
  close(): void {
    this.#closed = true;
    // Not waiting for the server's close: node counts the workers' copies of handed sockets as its connections.
    this.#server.close();
    for (const held of this.#held.splice(0)) {
      clearTimeout(held.timer);
      held.sock.destroy();
    }
    for (const id of [...this.#onTheirWay.keys()]) this.#takeBack(id)!.sock.destroy();
  }

  #takes(worker: Worker): boolean {
    return worker.isConnected() && !this.#paused(worker);
  }

  /** Given nothing for now: it did not take a connection in time (#notTakenInTime). */
  #paused(worker: Worker): boolean {
    return (this.#pausedUntil.get(worker) ?? 0) > Date.now();
  }

  /** A connection on its way (to `worker`, when given) is no longer: its entry and its deadline go. */
  #takeBack(id: number, worker?: Worker): OnItsWay | undefined {
    const entry = this.#onTheirWay.get(id);
    if (!entry || (worker && entry.worker !== worker)) return undefined;
    this.#onTheirWay.delete(id);
    clearTimeout(entry.timer);
    return entry;
  }

  #give(sock: Socket): void {
    if (this.#closed || sock.destroyed) {
      sock.destroy();
      return;
    }
    const worker = this.#pick();
    if (!worker) {
      this.#hold(sock);
      return;
    }
    const id = ++this.#nextId;
    const timer = setTimeout(() => this.#notTakenInTime(id), TAKE_MS);
    timer.unref();
    this.#onTheirWay.set(id, { sock, worker, timer });
    try {
      // keepOpen: this copy stays open until the worker says it has its own.
      worker.send({ __bastionConnection: id } satisfies HandedConnection, sock, { keepOpen: true }, (err: Error | null) => {
        if (err) this.#notTaken(id, worker);
      });
    } catch {
      this.#notTaken(id, worker);
    }
  }

  #pick(): Worker | undefined {
    for (let tries = 0; tries < this.#workers.length; tries++) {
      const worker = this.#workers[this.#next++ % this.#workers.length]!;
      if (this.#takes(worker)) return worker;
    }
    return undefined;
  }

  #hold(sock: Socket): void {
    const from = sock.remoteAddress;
    if (this.#held.length >= HOLD_MAX || this.#held.filter((h) => h.sock.remoteAddress === from).length >= this.#holdPerSource) {
      sock.destroy();
      return;
    }
    const held: Held = {
      sock,
      timer: setTimeout(() => {
        const i = this.#held.indexOf(held);
        if (i >= 0) this.#held.splice(i, 1);
        sock.destroy();
      }, HOLD_MS),
    };
    held.timer.unref();
    this.#held.push(held);
  }

  #taken(worker: Worker, m: ConnectionTaken): void {
    // A worker that takes connections again (it was slow, not stuck) is given them again.
    if (m.taken && this.#pausedUntil.delete(worker)) this.#say(`gateway worker ${worker.process.pid} takes connections again`);
    if (!m.taken) {
      this.#notTaken(m.__bastionConnectionTaken, worker);
      return;
    }
    // Only this process's descriptor: the connection lives on in the worker's.
    this.#takeBack(m.__bastionConnectionTaken, worker)?.sock.destroy();
  }

  #notTakenInTime(id: number): void {
    const entry = this.#takeBack(id);
    if (!entry) return;
    endConnection(entry.sock);
    const { worker } = entry;
    if (!this.#workers.includes(worker) || this.#paused(worker)) return;
    this.#pausedUntil.set(worker, Date.now() + TAKE_PAUSE_MS);
    this.#say(`gateway worker ${worker.process.pid} did not take a connection within ${TAKE_MS / 1000} s (out of file descriptors, or not running); it is given none for ${TAKE_PAUSE_MS / 1000} s`);
  }

  /** The worker could not be sent it, or is stopping: it takes no more, and this one goes to another. */
  #notTaken(id: number, worker: Worker): void {
    const entry = this.#takeBack(id, worker);
    if (!entry) return;
    this.removeWorker(worker);
    this.#give(entry.sock);
  }
}

/**
 * Ends the TCP connection itself, whoever else holds a descriptor of it: shutdown() acts on the
 * connection, close() only on this process's descriptor. Then closes ours.
 */
function endConnection(sock: Socket): void {
  if (sock.destroyed) return;
  const destroy = (): void => { sock.destroy(); };
  // 'finish' once the shutdown is done; the timer in case it never is (a socket already reset).
  sock.once('finish', destroy);
  setTimeout(destroy, 1000).unref();
  sock.end();
}

/** What a worker serves handed connections with: its gateway. */
export interface HandedConnectionGateway {
  readonly accepting: boolean;
  accept(sock: Socket): boolean;
}

/**
 * In a worker: takes the connections its primary hands it. "Taken" goes first, and the gateway
 * greets the client only once that message is written (see the top of this file).
 */
export function takeHandedConnections(gw: HandedConnectionGateway, primary: PrimaryChannel): void {
  primary.on('message', (m: unknown, handle: unknown) => {
    if (!isHandedConnection(m)) return;
    const id = m.__bastionConnection;
    const sock = handle as Socket | undefined;
    if (!sock || !gw.accepting || !primary.send) {
      // Not taken: the primary gives it to another worker.
      sock?.destroy();
      primary.send?.({ __bastionConnectionTaken: id, taken: false } satisfies ConnectionTaken, () => undefined);
      return;
    }
    const send = primary.send.bind(primary);
    send({ __bastionConnectionTaken: id, taken: true } satisfies ConnectionTaken, (err) => {
      // No primary to tell (it has gone), or this worker began stopping meanwhile: the connection ends here.
      if (err || !gw.accept(sock)) sock.destroy();
    });
  });
}
