// What live view puts on the bus: a watched session's output, its keystrokes only for a
// watcher that asked for them and never what was typed with the echo off (a password at a
// prompt); a watch is a lease, so a watcher that vanishes (its web server killed) stops the
// stream; and the PostgreSQL bus sends its NOTIFYs one query at a time, in order.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { BusMessages } from '../core/bus.ts';
import { ClusterBus, type Envelope } from '../core/bus.ts';
import { PostgresBusPeer } from '../core/busPostgres.ts';
import { createLogger } from '../core/logger.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import { startPostgres } from './helpers/postgres.ts';
import { cleanup } from './helpers/tmp.ts';
import { ALICE_PASSWORD, eventually, openShell, ssh2Login, startWorld, type Screen, type World } from './gatewayFixture.ts';
import { EchoedInput } from '../gateway/echoedInput.ts';
import { SessionEntity } from '../core/db/entities/index.ts';

type Stream = BusMessages['session.stream'];

describe('live view on the bus', { skip: sshdUnavailable() }, () => {
  let w: World;
  before(async () => { w = await startWorld(); });
  after(async () => { await w?.stop(); await cleanup(); });

  /** A shell of alice's on web01, its session id, and everything published for it on the bus. */
  async function watchedShell(): Promise<{ screen: Screen; sessionId: string; events: Stream[]; end: () => void }> {
    const s = w.bastion.services;
    const repo = s.ds.getRepository(SessionEntity);
    const earlier = new Set((await repo.find({ where: { userId: w.alice.id } })).map((r) => r.id));
    const client = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
    const screen = await openShell(client);
    await screen.send('echo ready-$((1+1))\r', 'ready-2');
    const fresh = await eventually(async () => (await repo.find({ where: { userId: w.alice.id } })).filter((r) => !earlier.has(r.id)), (rows) => rows.length === 1);
    const sessionId = fresh[0]!.id;
    const events: Stream[] = [];
    const off = s.bus.subscribe('session.stream', (m) => { if (m.sessionId === sessionId) events.push(m); });
    return { screen, sessionId, events, end: () => { off(); client.end(); } };
  }
  const watch = (sessionId: string, watchId: string, keystrokes: boolean, leaseMs = 60_000, on = true) =>
    w.bastion.services.bus.publish('session.watch', { sessionId, watchId, on, keystrokes, leaseMs });
  const typed = (events: Stream[]) => events.filter((e) => e.kind === 'i').map((e) => e.data).join('');
  const shown = (events: Stream[]) => events.filter((e) => e.kind === 'o').map((e) => e.data).join('');

  test('a watcher that did not ask for keystrokes gets output only', async () => {
    const { screen, sessionId, events, end } = await watchedShell();
    try {
      const id = randomUUID();
      watch(sessionId, id, false);
      await screen.send('echo out-$((3*3))\r', 'out-9');
      await eventually(async () => shown(events), (t) => t.includes('out-9'));
      assert.match(shown(events), /out-9/);
      assert.equal(events.filter((e) => e.kind === 'i').length, 0);
      watch(sessionId, id, false, 0, false);
    } finally {
      end();
    }
  });

  test('a watcher that asked gets echoed keystrokes, never a password typed with the echo off', async () => {
    const { screen, sessionId, events, end } = await watchedShell();
    try {
      const id = randomUUID();
      watch(sessionId, id, true);
      await screen.send('echo visible-$((4+4))\r', 'visible-8');
      await eventually(async () => typed(events), (t) => t.includes('echo visible-$((4+4))'));
      assert.match(typed(events), /echo visible-\$\(\(4\+4\)\)/);
      // A prompt with the echo off, answered key by key as a person types.
      await screen.send("read -s -p 'Secret: ' answer; echo; echo length-${#answer}\r", 'Secret: ');
      for (const ch of 'hunter2-zebra') screen.stream.write(ch);
      await screen.send('\r', /length-13/);
      await screen.send('echo after-$((5+5))\r', 'after-10');
      await eventually(async () => typed(events), (t) => t.includes('echo after-$((5+5))'));
      assert.doesNotMatch(typed(events), /hunter|zebra/, 'the password went on the bus');
      assert.doesNotMatch(shown(events), /hunter|zebra/);
      watch(sessionId, id, true, 0, false);
    } finally {
      end();
    }
  });

  test('a watch that is not renewed ends: the gateway stops publishing after the lease', async () => {
    const { screen, sessionId, events, end } = await watchedShell();
    try {
      // A watcher whose process is killed: it announced itself once and is never heard again.
      // A lease the command's round trip (ssh → sshd → bash → back, and the bus) fits in on a loaded host.
      const LEASE_MS = 3000;
      watch(sessionId, randomUUID(), false, LEASE_MS);
      await screen.send('echo during-$((6+1))\r', 'during-7');
      await eventually(async () => shown(events), (t) => t.includes('during-7'));
      assert.match(shown(events), /during-7/);
      await new Promise((r) => setTimeout(r, LEASE_MS + 600));
      const before = events.length;
      await screen.send('echo later-$((6+2))\r', 'later-8');
      await screen.send('echo later-$((6+3))\r', 'later-9');
      assert.equal(events.length, before, `published after the lease ran out: ${JSON.stringify(events.slice(before))}`);
    } finally {
      end();
    }
  });
});

test('keystrokes are published only once the output shows them', () => {
  const e = new EchoedInput();
  assert.deepEqual(e.input('l'), []);
  assert.deepEqual(e.output('l'), ['l']);
  assert.deepEqual(e.input('\r'), ['\r']);
  // Echo off: nothing shows the typed text; the next output drops it.
  assert.deepEqual(e.input('secret'), []);
  assert.deepEqual(e.input('\r'), []);
  assert.deepEqual(e.output('\r\n'), []);
  assert.deepEqual(e.output('$ '), []);
  // A paste echoed in pieces, with colours in between.
  assert.deepEqual(e.input('echo hello world'), []);
  assert.deepEqual(e.output('echo hel'), []);
  assert.deepEqual(e.output('\x1b[1mlo world'), ['echo hello world']);
});

test('the PostgreSQL bus sends one query at a time, all messages in order, long ones whole', async (t) => {
  const started = await startPostgres();
  if ('skip' in started) { t.skip(started.skip); return; }
  // Watch the real pg.Client calls: how many queries each client has running at once.
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const running = new WeakMap<object, number>();
  let most = 0;
  proto.query = function (this: object, ...args: unknown[]) {
    const result = original.apply(this, args);
    if (!(result instanceof Promise)) return result;
    const n = (running.get(this) ?? 0) + 1;
    running.set(this, n);
    most = Math.max(most, n);
    return result.finally(() => running.set(this, (running.get(this) ?? 1) - 1));
  };
  const log = createLogger('silent');
  let a: PostgresBusPeer | undefined;
  let b: PostgresBusPeer | undefined;
  try {
    a = await PostgresBusPeer.connect(started.url, log);
    b = await PostgresBusPeer.connect(started.url, log);
    const heard: Envelope[] = [];
    b.on('message', (m) => heard.push(m as Envelope));
    const bus = new ClusterBus();
    bus.addPeer(a, true);
    const big = 'x'.repeat(20_000);
    for (let i = 0; i < 200; i++) bus.publish('session.stream', { sessionId: 's', kind: 'o', data: i % 50 === 0 ? `${i}:${big}` : String(i), t: i, seq: i });
    await eventually(async () => heard.length, (n) => n >= 200, 20_000);
    const got = heard.map((m) => (m.message as Stream).t);
    assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => i));
    assert.equal((heard[50]!.message as Stream).data, `50:${big}`);
    // pg 8 warns when a query is issued while another runs on the same client; pg 9 throws.
    assert.equal(most, 1, 'concurrent queries on one client');
  } finally {
    proto.query = original;
    await a?.close();
    await b?.close();
    await started.stop();
  }
});
