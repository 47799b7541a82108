// Backends that misbehave, on loopback: each accepts TCP like an sshd would and then fails in
// its own way. Used to prove that no backend can crash a gateway process (DESIGN rule 13).
import { createServer, connect, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

export type HostileKind = 'silent' | 'garbage' | 'closes-mid-handshake' | 'huge-banner';

export interface HostilePeer {
  kind: HostileKind | 'stalling-proxy';
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  stop(): Promise<void>;
}

export interface StallingProxy extends HostilePeer {
  /** From now on nothing more is forwarded in either direction; sockets stay open. */
  stall(): void;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
}

function track(server: Server): { sockets: Set<Socket>; count: () => number; stop: () => Promise<void> } {
  const sockets = new Set<Socket>();
  let n = 0;
  server.on('connection', (s) => {
    n++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.once('close', () => sockets.delete(s));
  });
  return {
    sockets,
    count: () => n,
    stop: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** A peer that accepts TCP and then behaves as `kind` says. */
export async function startHostilePeer(kind: HostileKind): Promise<HostilePeer> {
  const server = createServer((sock) => {
    sock.resume(); // reads and drops whatever the client says
    switch (kind) {
      case 'silent':
        break; // never says a word
      case 'garbage':
        // A valid identification, then bytes that are no SSH packet.
        sock.write('SSH-2.0-OpenSSH_9.2\r\n');
        sock.write(randomBytes(64 * 1024));
        break;
      case 'closes-mid-handshake':
        // Identification, then hang up as soon as the client starts the key exchange.
        sock.write('SSH-2.0-OpenSSH_9.2\r\n');
        sock.once('data', () => setTimeout(() => sock.destroy(), 20));
        break;
      case 'huge-banner': {
        // Pre-identification lines without end (RFC 4253 allows some; this one never stops).
        const line = `${'x'.repeat(200)}\r\n`;
        const flood = (): void => {
          for (let i = 0; i < 256 && !sock.destroyed; i++) {
            if (!sock.write(line)) {
              sock.once('drain', flood);
              return;
            }
          }
          if (!sock.destroyed) setImmediate(flood);
        };
        flood();
        break;
      }
    }
  });
  const t = track(server);
  const port = await listen(server);
  return { kind, port, accepted: t.count, stop: t.stop };
}

/** A TCP proxy to a real sshd that can be made to stop forwarding mid-session. */
export async function startStallingProxy(target: { host: string; port: number }): Promise<StallingProxy> {
  let stalled = false;
  const pairs: Array<[Socket, Socket]> = [];
  const server = createServer((front) => {
    const back = connect({ host: target.host, port: target.port });
    back.on('error', () => front.destroy());
    pairs.push([front, back]);
    front.on('data', (d: Buffer) => { if (!stalled) back.write(d); });
    back.on('data', (d: Buffer) => { if (!stalled) front.write(d); });
    front.on('close', () => back.destroy());
    back.on('close', () => { if (!stalled) front.destroy(); });
  });
  const t = track(server);
  const port = await listen(server);
  return {
    kind: 'stalling-proxy', port, accepted: t.count,
    stall: () => { stalled = true; },
    stop: async () => {
      for (const [, back] of pairs) back.destroy();
      await t.stop();
    },
  };
}
