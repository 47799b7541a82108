// Socket writes made in one callback leave the process as one writev (issue 13: the gateway's
// CPU per byte). ssh2 writes every SSH packet to its socket by itself; a 64 KiB read from a
// backend becomes two or three packets towards the operator, plus window adjusts, each a
// write syscall of its own, and on loopback each one also wakes the reader. Corked for the
// rest of the callback (process.nextTick: no delay added), they go out together.
import type { Socket } from 'node:net';

/** Makes the writes `sock` gets within one callback go out in one system call. */
export function batchWrites(sock: Socket): void {
  const write = sock.write;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    sock.uncork();
  };
  sock.write = function batchedWrite(this: Socket, ...args: Parameters<Socket['write']>): boolean {
    if (!corked && !sock.destroyed) {
      corked = true;
      sock.cork();
      process.nextTick(uncork);
    }
    return write.apply(this, args);
  } as Socket['write'];
}
