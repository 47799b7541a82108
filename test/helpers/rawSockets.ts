// Raw TCP connections that an attacker would hold open: each records whether the server said
// anything and when it closed. Connected in batches (the listen backlog is finite) from a chosen
// loopback source address, so one test can play several sources.
import { connect, type Socket } from 'node:net';

export interface RawConn {
  socket: Socket;
  /** The server wrote something (an SSH identification, an HTTP response). */
  spoke: boolean;
  received: string;
  closed: boolean;
}

export async function openRaw(port: number, count: number, localAddress: string, batch = 100): Promise<RawConn[]> {
  const all: RawConn[] = [];
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    const opened = await Promise.all(Array.from({ length: n }, () => new Promise<RawConn>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, localAddress });
      const c: RawConn = { socket, spoke: false, received: '', closed: false };
      socket.on('data', (d: Buffer) => {
        c.spoke = true;
        if (c.received.length < 4096) c.received += d.toString('latin1');
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        c.closed = true;
        resolve(c);
      });
      socket.once('connect', () => resolve(c));
    })));
    all.push(...opened);
  }
  return all;
}

/** Waits until every connection has either been answered or closed (bounded by `ms`). */
export async function settle(conns: RawConn[], ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (conns.some((c) => !c.spoke && !c.closed) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** Waits until every connection is closed (bounded by `ms`). */
export async function allClosed(conns: RawConn[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (conns.some((c) => !c.closed) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return conns.every((c) => c.closed);
}

export function destroyAll(conns: RawConn[]): void {
  for (const c of conns) c.socket.destroy();
}
