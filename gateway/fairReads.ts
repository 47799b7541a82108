import type { Socket } from 'node:net';

/**
 * How many bytes one connection may read in one turn of the event loop before it lets the
 * others run. 64 KiB is one libuv read; each costs the SSH decryption, the re-encryption
 * towards the other side and the recording, about half a millisecond.
 */
export const FAIR_READ_BYTES = 128 * 1024;

/**
 * libuv reads a ready socket up to 32 times in a row (2 MiB at 64 KiB a read) before it looks
 * at any other, and all the work those bytes cause runs in that same turn. In one gateway
 * process a single bulk transfer then holds every other session's keystrokes behind tens of
 * milliseconds. Once a socket has delivered `budget` bytes in a turn it is paused until the
 * next one (setImmediate), so the other connections are served in between; throughput is not
 * capped, only interleaved.
 */
export function fairReads(sock: Socket, budget = FAIR_READ_BYTES): void {
  let used = 0;
  let turnScheduled = false;
  let pausedHere = false;
  // setImmediate runs after every socket callback of the current poll phase: the turn's end.
  const nextTurn = (): void => {
    turnScheduled = false;
    used = 0;
    if (pausedHere) {
      pausedHere = false;
      if (!sock.destroyed) sock.resume();
    }
  };
  // Ahead of ssh2's own listener, which it adds once the socket connects.
  sock.prependListener('data', (chunk: Buffer) => {
    used += chunk.length;
    if (!turnScheduled) {
      turnScheduled = true;
      setImmediate(nextTurn);
    }
    if (used >= budget && !pausedHere) {
      // This chunk is still delivered; libuv stops reading once the paused stream's buffer is full.
      pausedHere = true;
      sock.pause();
    }
  });
}
