// The workers topology of the test fixture is the one `npm start` runs: SSH connections are
// served by real gateway worker processes (not by the test process), and what the test
// process changes through its services reaches them over the bus, as the web server's
// changes reach them in production. The `*.workers.test.ts` suites rely on both.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import cluster from 'node:cluster';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { EventEmitter, once } from 'node:events';
import { execa } from 'execa';
import { sshdUnavailable } from './helpers/sshd.ts';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { ALICE_PASSWORD, GATEWAY_WORKERS, eventually, openShell, ssh2Exec, ssh2Login, startWorld, type World } from './gatewayFixture.ts';
import { SessionEntity } from '../core/db/entities/index.ts';
import { recordingFile } from './helpers/recordings.ts';
import { restartDelayMs } from '../bin/gatewayCluster.ts';
import { ConnectionHandoff, HOLD_MS, TAKE_MS, takeHandedConnections } from '../bin/connectionHandoff.ts';
import type { PrimaryChannel } from '../bin/ipcMessage.ts';
import type { Worker } from 'node:cluster';
import { killedOnPurpose } from './helpers/gatewayWorkers.ts';
import { PING_MS, STUCK_MS } from '../bin/workerWatchdog.ts';
import { within } from './helpers/within.ts';

const skip = sshdUnavailable();

/** The pids holding the established server side of connections to `port` (`ss -p`). */
async function serverPids(port: number): Promise<number[]> {
  const r = await execa('ss', ['-Htnp', 'state', 'established', `( sport = :${port} )`]);
  return [...r.stdout.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
}

/**
 * The pids of the fixture's gateway workers whose process has not exited, or of those still
 * connected to this process. Not every entry of cluster.workers: node removes a worker from it only
 * once its channel's 'disconnect' has fired too, and holds that back forever when the worker died
 * in the middle of a message (ci60: a worker killed while a connection was being sent to it stayed
 * listed, dead, for the rest of the file).
 */
const workerPids = (): number[] => Object.values(cluster.workers ?? {}).filter((wk) => !wk!.isDead()).map((wk) => wk!.process.pid!);
const liveWorkerPids = (): number[] => Object.values(cluster.workers ?? {}).filter((wk) => wk!.isConnected()).map((wk) => wk!.process.pid!);

/** Once every worker serves, one of them, whose end is the test's own doing. */
async function aServingWorker(port: number): Promise<number> {
  await everyWorkerServes(port);
  const pid = liveWorkerPids()[0]!;
  killedOnPurpose.add(pid);
  return pid;
}

/** Once every worker serves, freezes one (SIGSTOP) and returns its pid. */
async function freezeAWorker(port: number): Promise<number> {
  const victim = await aServingWorker(port);
  process.kill(victim, 'SIGSTOP');
  return victim;
}

/** Logs in as many times as there are workers, twice, and runs `echo up` each time. */
async function loginsRun(port: number): Promise<void> {
  for (let i = 0; i < 2 * GATEWAY_WORKERS; i++) {
    const c = await ssh2Login(port, { username: 'alice@web01', password: ALICE_PASSWORD });
    try {
      assert.equal((await ssh2Exec(c, 'echo up')).stdout.toString(), 'up\n');
    } finally {
      c.end();
    }
  }
}

/**
 * Waits until connections to `port` are served by every connected worker, none left out (a
 * worker is connected before it takes connections from its primary), within 30 s.
 */
async function everyWorkerServes(port: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const live = liveWorkerPids();
    const socks = await Promise.all(Array.from({ length: 2 * GATEWAY_WORKERS }, async () => {
      const sock = connect(port, '127.0.0.1');
      sock.on('error', () => undefined);
      await once(sock, 'connect');
      sock.write('SSH-2.0-OpenSSH_9.2p1\r\n');
      await within(once(sock, 'data'), HOLD_MS + 5000, () => 'a connection was not greeted');
      return sock;
    }));
    const serving = new Set(await serverPids(port));
    for (const sock of socks) sock.destroy();
    if (live.length === GATEWAY_WORKERS && live.every((pid) => serving.has(pid))) return;
    if (Date.now() > deadline) assert.fail(`workers ${live.join(' ')}, serving: ${[...serving].join(' ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a worker that keeps dying at start is replaced ever more slowly: 0.5 s doubling to 30 s, not twice a second forever', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 20].map(restartDelayMs), [500, 500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
});

test('a worker greets a handed connection only once its "taken" is written to the primary', async () => {
  // Were it greeted first, a worker dying before its "taken" reached the primary would leave a
  // greeted client to be handed to another worker, which greets it again: a protocol error.
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const sent: unknown[] = [];
  const written: Array<(err: Error | null) => void> = [];
  const primary = Object.assign(new EventEmitter(), {
    send(message: unknown, callback: (err: Error | null) => void) {
      sent.push(message);
      written.push(callback);
      return true;
    },
  }) satisfies PrimaryChannel;
  const accepted: Socket[] = [];
  let accepting = true;
  takeHandedConnections({ get accepting() { return accepting; }, accept: (sock) => { accepted.push(sock); return true; } }, primary);
  const sockets: Socket[] = [];
  const handed = async (): Promise<{ client: Socket; sock: Socket }> => {
    const client = connect(port, '127.0.0.1');
    client.on('error', () => undefined);
    const [sock] = await once(server, 'connection') as [Socket];
    sockets.push(client, sock);
    return { client, sock };
  };
  try {
    const first = await handed();
    primary.emit('message', { __bastionConnection: 7 }, first.sock);
    assert.deepEqual(sent, [{ __bastionConnectionTaken: 7, taken: true }]);
    assert.equal(accepted.length, 0, 'greeted before its "taken" was written');
    written[0]!(null);
    assert.deepEqual(accepted, [first.sock]);
    first.client.destroy();
    // A stopping worker takes none: the primary gives it to another.
    accepting = false;
    const second = await handed();
    primary.emit('message', { __bastionConnection: 8 }, second.sock);
    assert.deepEqual(sent.slice(1), [{ __bastionConnectionTaken: 8, taken: false }]);
    assert.equal(second.sock.destroyed, true);
    assert.equal(accepted.length, 1);
  } finally {
    for (const sock of sockets) sock.destroy();
    server.close();
  }
});

test('a connection is given to another worker only after the dead one\'s channel has ended, and not if it said it had taken it', async () => {
  // A worker's exit can be seen before the last messages it wrote: its "taken" must still count.
  class ChannelOfAWorker extends EventEmitter {
    connected = true;
    readonly handed: number[] = [];
    readonly process = { pid: 0 };
    isConnected(): boolean { return this.connected; }
    send(m: { __bastionConnection: number }, _sock: unknown, _opts: unknown, callback: (err: Error | null) => void): boolean {
      this.handed.push(m.__bastionConnection);
      callback(null);
      return true;
    }
  }
  const handoff = new ConnectionHandoff(() => undefined);
  const port = await handoff.listen(0, '127.0.0.1');
  const asWorker = (w: ChannelOfAWorker) => w as unknown as Worker;
  const clients: Socket[] = [];
  const connectOne = async (to: ChannelOfAWorker): Promise<{ client: Socket; id: number; closed: Promise<unknown> }> => {
    const before = to.handed.length;
    const client = connect(port, '127.0.0.1');
    client.on('error', () => undefined);
    clients.push(client);
    const closed = once(client, 'close');
    await eventually(async () => to.handed.length, (n) => n > before, 5000);
    return { client, id: to.handed.at(-1)!, closed };
  };
  try {
    // Said "taken", then died: its connection ended with it and is not greeted a second time elsewhere.
    const first = new ChannelOfAWorker();
    const second = new ChannelOfAWorker();
    handoff.addWorker(asWorker(first));
    const taken = await connectOne(first);
    handoff.addWorker(asWorker(second));
    // Its exit is seen, then the "taken" it wrote before, then its channel's end.
    handoff.removeWorker(asWorker(first));
    first.emit('message', { __bastionConnectionTaken: taken.id, taken: true });
    handoff.workerClosed(asWorker(first));
    assert.equal(await within(taken.closed.then(() => 'closed'), 5000, () => 'given to another worker'), 'closed');
    assert.deepEqual(second.handed, []);
    // Died before saying so: given to another once its channel has ended, not before.
    const next = await connectOne(second);
    const third = new ChannelOfAWorker();
    handoff.addWorker(asWorker(third));
    handoff.removeWorker(asWorker(second));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(third.handed, [], 'given again while the dead worker\'s channel could still hold its "taken"');
    handoff.workerClosed(asWorker(second));
    assert.equal(third.handed.length, 1);
    assert.equal(next.client.destroyed, false);
  } finally {
    handoff.close();
    for (const c of clients) c.destroy();
  }
});

/** What a raw client sees on `port` within `ms` after sending its identification: a greeting, the close, or nothing. */
async function greetingOf(port: number, ms: number, localAddress = '127.0.0.1'): Promise<{ sock: Socket; outcome: Promise<'greeted' | 'closed' | 'nothing'> }> {
  const sock = connect({ port, host: '127.0.0.1', localAddress });
  sock.on('error', () => undefined);
  await once(sock, 'connect');
  sock.write('SSH-2.0-OpenSSH_9.2p1\r\n');
  const outcome = new Promise<'greeted' | 'closed' | 'nothing'>((resolve) => {
    let banner = '';
    sock.on('data', (d: Buffer) => {
      banner += d.toString('latin1');
      if (banner.startsWith('SSH-2.0-Bastion')) resolve('greeted');
    });
    sock.on('close', () => resolve('closed'));
    setTimeout(() => resolve('nothing'), ms).unref();
  });
  return { sock, outcome };
}

test('while no worker takes connections, one address holds at most its share of the held places; another address still gets one', async () => {
  // The primary never reads a held socket, so it cannot see a client that connected and left:
  // without a share per address, one source could fill every place during a workers' restart.
  const handoff = new ConnectionHandoff(() => undefined, { holdPerSource: 2 });
  const port = await handoff.listen(0, '127.0.0.1');
  const socks: Socket[] = [];
  try {
    const outcomes: Array<Promise<string>> = [];
    for (const from of ['127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.2']) {
      const { sock, outcome } = await greetingOf(port, 1000, from);
      socks.push(sock);
      outcomes.push(outcome);
    }
    assert.deepEqual(await Promise.all(outcomes), ['nothing', 'nothing', 'closed', 'nothing']);
  } finally {
    handoff.close();
    for (const sock of socks) sock.destroy();
  }
});

test('a connection a worker was sent and never took is ended at the take deadline: its client hears the close instead of waiting for that worker to die', async () => {
  // A real process that receives the socket and never answers, as a frozen worker does: it holds
  // a descriptor of the connection, so closing the primary's own would not end it.
  const mute = spawn(process.execPath, ['-e', 'process.on("message", () => {})'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const worker = { process: mute, isConnected: () => mute.connected, send: mute.send.bind(mute), on: mute.on.bind(mute) } as unknown as Worker;
  const said: string[] = [];
  const handoff = new ConnectionHandoff((line) => said.push(line));
  const port = await handoff.listen(0, '127.0.0.1');
  let sock: Socket | undefined;
  try {
    handoff.addWorker(worker);
    const started = Date.now();
    const g = await greetingOf(port, TAKE_MS + 5000);
    sock = g.sock;
    assert.equal(await g.outcome, 'closed');
    const waited = Date.now() - started;
    assert.ok(waited >= TAKE_MS - 500, `closed after ${waited} ms, before the take deadline`);
    assert.deepEqual(said, [`gateway worker ${mute.pid} did not take a connection within ${TAKE_MS / 1000} s (out of file descriptors, or not running); it is given none for 30 s`]);
  } finally {
    handoff.close();
    sock?.destroy();
    mute.kill('SIGKILL');
  }
});

describe('gateway worker processes in the test fixture', { skip }, () => {
  let w: World;
  before(async () => {
    w = await startWorld({ topology: 'workers' });
  });
  after(async () => {
    await w?.stop();
  });

  test('connections are served by the worker processes, in turn, and none by the test process', async () => {
    const workers = workerPids();
    assert.equal(workers.length, GATEWAY_WORKERS);
    assert.ok(!workers.includes(process.pid));
    const clients = [];
    try {
      for (let i = 0; i < 2 * GATEWAY_WORKERS; i++) {
        const c = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
        clients.push(c);
        assert.equal((await ssh2Exec(c, 'echo up')).stdout.toString(), 'up\n');
      }
      const pids = await serverPids(w.gw.port);
      assert.equal(pids.length, clients.length, `one server socket per connection: ${pids.join(' ')}`);
      assert.deepEqual([...new Set(pids)].sort(), [...workers].sort());
    } finally {
      for (const c of clients) c.end();
    }
  });

  test('a worker that dies is replaced, and connections are served again by live workers only', async () => {
    const before = workerPids();
    const victim = before[0]!;
    killedOnPurpose.add(victim);
    process.kill(victim, 'SIGKILL');
    const deadline = Date.now() + 30_000;
    let now: number[] = before;
    while (Date.now() < deadline) {
      now = liveWorkerPids();
      if (now.length === GATEWAY_WORKERS && !now.includes(victim)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(now.length, GATEWAY_WORKERS);
    assert.ok(!now.includes(victim));
    // Only live workers are handed connections; a replacement, once it says it takes them.
    await loginsRun(w.gw.port);
  });

  test('connections on their way to a worker that dies are served by another, not left waiting for a banner', async () => {
    // A replacement worker is connected before it takes connections: until both do, all would go to one.
    // Frozen, the worker cannot say it has taken what it is handed: those connections stay on their way.
    const victim = await freezeAWorker(w.gw.port);
    const banners: string[] = [];
    const socks: Socket[] = [];
    try {
      for (let i = 0; i < 2 * GATEWAY_WORKERS; i++) {
        const sock = connect(w.gw.port, '127.0.0.1');
        sock.on('error', () => undefined);
        banners.push('');
        sock.on('data', (d: Buffer) => { banners[i] += d.toString('latin1'); });
        socks.push(sock);
        await once(sock, 'connect');
        // The gateway answers a client's identification with its own.
        sock.write('SSH-2.0-OpenSSH_9.2p1\r\n');
      }
      const greeted = () => banners.filter((x) => x.startsWith('SSH-2.0-Bastion')).length;
      // In turn: half went to the live worker and are greeted; the frozen worker's half wait.
      await eventually(async () => greeted(), (n) => n === GATEWAY_WORKERS, 20_000);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(greeted(), GATEWAY_WORKERS, `greeted while a worker is frozen: ${JSON.stringify(banners.map((x) => x.startsWith('SSH-2.0-Bastion')))}`);
      process.kill(victim, 'SIGKILL');
      // Within seconds, not after the client's own timeout: node:cluster's round-robin left them waiting.
      assert.equal(await eventually(async () => greeted(), (n) => n === 2 * GATEWAY_WORKERS, 10_000), 2 * GATEWAY_WORKERS,
        `after the frozen worker died, greeted: ${JSON.stringify(banners.map((x) => x.startsWith('SSH-2.0-Bastion')))}`);
    } finally {
      for (const sock of socks) sock.destroy();
      try { process.kill(victim, 'SIGKILL'); } catch { /* gone */ }
    }
    // Its replacement serves as before.
    await everyWorkerServes(w.gw.port);
    assert.ok(!liveWorkerPids().includes(victim));
    await loginsRun(w.gw.port);
  });

  test('while every worker is down, a new connection waits for the next one instead of being refused or dropped', async () => {
    const pids = workerPids();
    for (const pid of pids) {
      killedOnPurpose.add(pid);
      process.kill(pid, 'SIGKILL');
    }
    // node:cluster closed the port once no worker was left: this connection was refused (greetingOf throws ECONNREFUSED).
    const { sock, outcome } = await greetingOf(w.gw.port, HOLD_MS + 5000);
    const seen = await outcome;
    sock.destroy();
    assert.equal(seen, 'greeted');
    const now = workerPids();
    assert.ok(pids.every((pid) => !now.includes(pid)), 'served by a replacement');
    await everyWorkerServes(w.gw.port);
    await loginsRun(w.gw.port);
  });

  test('a worker that cannot receive connections (out of file descriptors) is given none: its clients hear the close, the others are served', async () => {
    const starved = await aServingWorker(w.gw.port);
    const socks: Socket[] = [];
    try {
      // No descriptor to spare: node in the worker cannot receive a socket, and answers its primary
      // with a NACK that no code sees. Before, such a connection waited for a banner until the
      // worker died, and the primary kept its descriptor as long.
      // The limit bounds descriptor numbers, not their count: with 0, no new one at all.
      await execa('prlimit', ['--pid', String(starved), '--nofile=0:0']);
      const first = [];
      for (let i = 0; i < 2 * GATEWAY_WORKERS; i++) {
        const g = await greetingOf(w.gw.port, TAKE_MS + 5000);
        socks.push(g.sock);
        first.push(g.outcome);
      }
      const outcomes = await Promise.all(first);
      assert.deepEqual([...outcomes].sort(), [...Array(GATEWAY_WORKERS).fill('closed'), ...Array(GATEWAY_WORKERS).fill('greeted')], JSON.stringify(outcomes));
      // From now on the starved worker is given none: every connection is served.
      const then = [];
      for (let i = 0; i < 2 * GATEWAY_WORKERS; i++) {
        const g = await greetingOf(w.gw.port, 10_000);
        socks.push(g.sock);
        then.push(g.outcome);
      }
      assert.deepEqual(await Promise.all(then), Array(2 * GATEWAY_WORKERS).fill('greeted'));
    } finally {
      for (const sock of socks) sock.destroy();
      try { process.kill(starved, 'SIGKILL'); } catch { /* gone */ }
    }
    await everyWorkerServes(w.gw.port);
    await loginsRun(w.gw.port);
  });

  test('a worker whose event loop is stuck is killed and replaced', async () => {
    // Frozen, it keeps its process and its channel: only its silence gives it away.
    const victim = await freezeAWorker(w.gw.port);
    try {
      assert.equal(await eventually(async () => workerPids().includes(victim), (still) => !still, STUCK_MS + 2 * PING_MS + 10_000), false, 'the stuck worker is still there');
    } finally {
      try { process.kill(victim, 'SIGKILL'); } catch { /* gone */ }
    }
    await everyWorkerServes(w.gw.port);
    await loginsRun(w.gw.port);
  });

  test('a change made through the test process services reaches every worker over the bus', async () => {
    await w.bastion.services.permissions.update(SYSTEM_ACTOR, w.permission.id, { active: false });
    try {
      // Each worker takes one of these in turn: each must refuse.
      for (let i = 0; i < 2 * GATEWAY_WORKERS; i++) {
        const c = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
        try {
          const r = await ssh2Exec(c, 'echo ran');
          assert.notEqual(r.stdout.toString(), 'ran\n', `connection ${i} ran with its permission disabled`);
          assert.equal(r.code, 255);
        } finally {
          c.end();
        }
      }
    } finally {
      await w.bastion.services.permissions.update(SYSTEM_ACTOR, w.permission.id, { active: true });
    }
    const c = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
    try {
      assert.equal((await ssh2Exec(c, 'echo ran')).stdout.toString(), 'ran\n');
    } finally {
      c.end();
    }
  });

  // Last: it stops the world's gateway. What `npm start` does on SIGTERM: the primary sends
  // SIGTERM to each worker, which ends its sessions and flushes them before it exits.
  test('stopping the workers ends live sessions gracefully, closes their rows and keeps the recording tail', async () => {
    const client = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
    try {
      const screen = await openShell(client);
      await screen.waitFor(/\$ $/);
      await screen.send('echo tail-marker-$((6*7))\r', /tail-marker-42/);
      await w.gw.close();
      await screen.whenClosed();
      assert.match(screen.text, /\[bastion\] session ended: the gateway is shutting down/);
    } finally {
      client.end();
    }
    assert.deepEqual(workerPids(), [], 'every worker exited');
    const rows = await w.bastion.services.ds.getRepository(SessionEntity).find({ where: { userId: w.alice.id, kind: 'shell' } });
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, 'closed');
    assert.equal(rows[0]!.endReason, 'the gateway is shutting down');
    assert.match(readFileSync(recordingFile(w.bastion.services, rows[0]!)!, 'utf8'), /tail-marker-42/);
  });
});
