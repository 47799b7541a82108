/**
 * Abuse benchmark (issue 12 items 1–3): bigger versions of the load-style tests, against the
 * real product (HTTP + SSH gateway in one process, a real sshd as the asset), printing what held.
 *   - 1,000 wrong passwords in parallel on /auth/login, then the right one
 *   - 5,000 idle TCP sockets on the SSH port from four source addresses, real logins meanwhile
 *   - 200 connections that spam `none` authentication requests
 *   - 40 operators dialling hostile backends (silent, closing mid-handshake) next to a live shell
 *   - 500 HTTP connections from one address that never send their headers
 * Run: npm run bench -- abuse
 */
import { performance } from 'node:perf_hooks';
import { request } from 'node:http';
import { pathToFileURL } from 'node:url';
import ssh2 from 'ssh2';
import { startBastion, ADMIN_PASSWORD } from '../test/helpers/bastion.ts';
import { startSshd } from '../test/helpers/sshd.ts';
import { factories } from '../test/helpers/factories.ts';
import { cleanup } from '../test/helpers/tmp.ts';
import { allClosed, destroyAll, openRaw, settle } from '../test/helpers/rawSockets.ts';
import { startHostilePeer } from '../test/helpers/hostilePeers.ts';
import { openShell, ssh2Exec, ssh2Login } from '../test/gatewayFixture.ts';

const GRACE_S = 10;
const OP_PASSWORD = 'Quiet-river-pass-123';

function post(port: number, path: string, body: unknown, from = '127.0.0.1'): Promise<number> {
  const data = JSON.stringify(body);
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: `/api/v1${path}`, method: 'POST', localAddress: from, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end(data);
  });
}

export async function runAbuseBench(): Promise<Record<string, number | string>> {
  const sshd = await startSshd();
  const b = await startBastion({
    gateway: true,
    env: {
      BASTION_LOGIN_GRACE_SECONDS: String(GRACE_S), BASTION_MAX_STARTUPS: '200', BASTION_MAX_STARTUPS_PER_SOURCE: '30',
      BASTION_BACKEND_TIMEOUT_SECONDS: '3', BASTION_HTTP_HEADERS_TIMEOUT_SECONDS: '5', BASTION_HTTP_MAX_CONNECTIONS_PER_SOURCE: '64',
    },
  });
  const f = factories(b.services);
  const results: Record<string, number | string> = {};
  const say = (k: string, v: number | string) => { results[k] = v; console.log(`  ${k.padEnd(58)} ${v}`); };
  try {
    const op = await f.user({ username: 'benchop', password: OP_PASSWORD, mustChangePassword: false });
    const su = await f.systemUser({ name: 'app', username: sshd.username, password: sshd.password });
    const web01 = await f.asset({ name: 'web01', address: sshd.host, port: sshd.port });
    const silent = await startHostilePeer('silent');
    const closing = await startHostilePeer('closes-mid-handshake');
    const silentAsset = await f.asset({ name: 'silent01', address: '127.0.0.1', port: silent.port });
    const closingAsset = await f.asset({ name: 'closing01', address: '127.0.0.1', port: closing.port });
    await f.permission({ users: [op.id], assets: [web01.id, silentAsset.id, closingAsset.id], systemUsers: [su.id] });
    const httpPort = b.http!.port;
    const realLogin = async (): Promise<boolean> => {
      try {
        const c = await ssh2Login(b.sshPort, { username: 'benchop@web01', password: OP_PASSWORD });
        const r = await ssh2Exec(c, 'echo ok');
        c.end();
        return r.stdout.toString() === 'ok\n';
      } catch {
        return false;
      }
    };
    console.log('\nabuse bench');

    // 1. The login race, bigger: 1,000 wrong passwords in parallel (from a source with no rate limit in this run), then the right one.
    await f.user({ username: 'victim', password: 'Target-pass-1234' });
    let t0 = performance.now();
    const wrong = Array.from({ length: 1000 }, (_, i) => post(httpPort, '/auth/login', { username: 'victim', password: `wrong-${i}-xxxx` }, '127.0.2.1'));
    const right = await post(httpPort, '/auth/login', { username: 'victim', password: 'Target-pass-1234' }, '127.0.2.1');
    const statuses = await Promise.all(wrong);
    const rows = (await b.services.auditLogs.logins({ username: 'victim', limit: 2000 })).items;
    say('login race: right password after 1,000 wrong (status)', right);
    say('login race: passwords actually checked (invalid_credentials)', rows.filter((r) => r.reason === 'invalid_credentials').length);
    say('login race: refused unchecked (locked / rate_limited)', rows.filter((r) => r.reason === 'locked' || r.reason === 'rate_limited').length);
    say('login race: requests cut before an answer (listen backlog)', statuses.filter((s) => s === 0).length);
    say('login race: statuses other than 401/429 (and cut)', statuses.filter((s) => s !== 401 && s !== 429 && s !== 0).length);
    say('login race: seconds', ((performance.now() - t0) / 1000).toFixed(1));
    say('login race: admin from another address (status)', await post(httpPort, '/auth/login', { username: 'admin', password: ADMIN_PASSWORD }, '127.0.2.2'));

    // 2. 5,000 idle sockets on the SSH port from four sources.
    t0 = performance.now();
    const idle = [];
    for (let s = 0; s < 4; s++) idle.push(...await openRaw(b.sshPort, 1250, `127.0.3.${s + 1}`, 250));
    await settle(idle);
    say('idle ssh sockets opened', idle.length);
    say('idle ssh sockets held (got the identification)', idle.filter((c) => c.spoke && !c.closed).length);
    say('idle ssh sockets refused at accept', idle.filter((c) => !c.spoke && c.closed).length);
    let ok = 0;
    for (let i = 0; i < 5; i++) if (await realLogin()) ok++;
    say('real logins during the flood (of 5)', ok);
    say(`idle ssh sockets all closed after the grace time (${GRACE_S} s)`, String(await allClosed(idle, GRACE_S * 1000 + 15_000)));
    say('idle ssh sockets: seconds until all closed', ((performance.now() - t0) / 1000).toFixed(1));
    say('real login after the flood', String(await realLogin()));
    destroyAll(idle);

    // 3. `none` spam: how many requests does one connection get answered?
    const counts = await Promise.all(Array.from({ length: 200 }, (_, i) => new Promise<number>((resolve) => {
      let n = 0;
      const c = new ssh2.Client();
      const done = () => resolve(n);
      c.on('error', done);
      c.on('close', done);
      c.connect({
        host: '127.0.0.1', port: b.sshPort, localAddress: `127.0.4.${(i % 50) + 1}`, username: 'benchop', readyTimeout: 20_000,
        authHandler: (_m, _p, next) => { if (n++ < 1000) next({ type: 'none', username: 'benchop' }); else next(false as never); },
      });
    })));
    say('none spam: connections', counts.length);
    say('none spam: most auth requests one connection got to make (cap 10; +1 refused, +1 give-up)', Math.max(...counts));

    // 4. Hostile backends next to a live shell.
    const liveClient = await ssh2Login(b.sshPort, { username: 'benchop@web01', password: OP_PASSWORD });
    const live = await openShell(liveClient);
    await live.send('echo live-1\n', 'live-1\r\n');
    t0 = performance.now();
    const hostile = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      // From four addresses: 40 at once from one would meet the per-source start-up cap (30).
      const c = await ssh2Login(b.sshPort, { username: `benchop@${i % 2 ? 'silent01' : 'closing01'}`, password: OP_PASSWORD, localAddress: `127.0.6.${(i % 4) + 1}` });
      const r = await ssh2Exec(c, 'true');
      c.end();
      return r.stderr;
    }));
    say('hostile backends: operators answered with one line', hostile.filter((l) => /^cannot connect to (silent01|closing01) .*\n$/.test(l)).length);
    say('hostile backends: seconds for all 40', ((performance.now() - t0) / 1000).toFixed(1));
    await new Promise((r) => setTimeout(r, 1000));
    await live.send('echo live-2\n', 'live-2\r\n');
    say('hostile backends: live shell still answers', 'yes');
    liveClient.end();
    await silent.stop();
    await closing.stop();

    // 5. HTTP: 500 connections from one address that never send headers.
    const slow = await openRaw(httpPort, 500, '127.0.5.1', 100);
    await new Promise((r) => setTimeout(r, 500));
    say('http idle connections from one address: held', slow.filter((c) => !c.closed).length);
    say('http idle connections from one address: refused', slow.filter((c) => c.closed).length);
    say('http login from another address meanwhile (status)', await post(httpPort, '/auth/login', { username: 'admin', password: ADMIN_PASSWORD }, '127.0.5.2'));
    say('http idle connections all closed by the header timeout', String(await allClosed(slow, 15_000)));
    destroyAll(slow);
  } finally {
    await b.stop();
    await sshd.stop();
    await cleanup();
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runAbuseBench().then(() => process.exit(0), (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
