// Socket writes made in one callback leave the process as one writev (issue 13: the gateway's
// CPU per byte). ssh2 writes every SSH packet to its socket by itself; a 64 KiB read from a
// backend becomes two or three packets towards the operator, plus window adjusts, each a
// write syscall of its own, and on loopback each one also wakes the reader. Corked for the
// rest of the callback (process.nextTick: no delay added), they go out together.
import type { Socket } from 'node:net';

/**
 * Replaces `sock.write` with `wrap(the write before)`, and keeps it so when the socket is
 * connected later: net.Socket#connect puts the prototype's write back (Node's lib/net.js), and
 * a backend's socket is made with `new Socket()`, wrapped, then connected — its writes went out
 * one system call per SSH packet, batchWrites undone before the first one.
 */
export function wrapWrite(sock: Socket, wrap: (write: Socket['write']) => Socket['write']): void {
  sock.write = wrap(sock.write);
  if (!sock.pending) return;
  const connect = sock.connect;
  sock.connect = function connectKeepingWrite(this: Socket, ...args: unknown[]): Socket {
    const write = sock.write;
    const r = (connect as (...a: unknown[]) => Socket).apply(this, args);
    sock.write = write;
    return r;
  } as Socket['connect'];
}

/** Makes the writes `sock` gets within one callback go out in one system call. */
export function batchWrites(sock: Socket): void {
  let corked = false;
  const uncork = (): void => {
    corked = false;
    sock.uncork();
  };
  wrapWrite(sock, (write) => function batchedWrite(this: Socket, ...args: Parameters<Socket['write']>): boolean {
    if (!corked && !sock.destroyed) {
      corked = true;
      sock.cork();
      process.nextTick(uncork);
    }
    return write.apply(this, args);
  } as Socket['write']);
}
