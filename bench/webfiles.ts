/**
 * `npm run bench -- webfiles`: the web file manager's memory under one large upload and one
 * large download. The product runs as `bastion server` (the HTTP face, as npm start runs it) in
 * its own process against a real sshd; this driver streams BENCH_WEBFILES_MIB (default 256) MiB
 * up through PUT /api/v1/me/files/upload and back through GET /me/files/download, hashing both
 * ends, while it samples the server's RSS from /proc every 100 ms. Flat memory means the peak
 * stays near the idle figure whatever the size.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { loadConfig } from '../core/config.ts';
import { createServices } from '../core/services.ts';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { productArgs } from '../test/helpers/productCommand.ts';
import { startSshd, sshdUnavailable } from '../test/helpers/sshd.ts';
import { cleanup, makeTempDir } from '../test/helpers/tmp.ts';
import { freePort } from '../test/helpers/ports.ts';

const MiB = 1024 * 1024;
const PASSWORD = 'Flat-memory-2024';

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Samples the process's RSS until stopped; returns the peak. */
function sampler(pid: number): { stop(): number } {
  let peak = rssOf(pid);
  const timer = setInterval(() => { peak = Math.max(peak, rssOf(pid)); }, 100);
  return { stop: () => { clearInterval(timer); return Math.max(peak, rssOf(pid)); } };
}

export async function runWebFilesBench(): Promise<void> {
  const why = sshdUnavailable();
  if (why) {
    console.log(`webfiles bench skipped: ${why}`);
    return;
  }
  const size = Number(process.env.BENCH_WEBFILES_MIB ?? 256) * MiB;
  const sshd = await startSshd();
  const dataDir = makeTempDir('bastion-bench-webfiles-');
  const remote = makeTempDir('bastion-bench-webfiles-remote-');
  await execa('chown', [sshd.username, remote]);
  const env = { BASTION_DATA_DIR: dataDir, BASTION_LOG_LEVEL: 'warn', BASTION_ADMIN_PASSWORD: 'Bench-admin-pw-2024', BASTION_BIND: '127.0.0.1', BASTION_LOGIN_RATE_PER_MINUTE: '0', BASTION_HTTP_REQUEST_TIMEOUT_SECONDS: '3600' };
  const services = await createServices(loadConfig(env));
  try {
    const user = await services.users.create(SYSTEM_ACTOR, { username: 'bench', password: PASSWORD, role: 'user', mustChangePassword: false });
    const asset = await services.assets.create(SYSTEM_ACTOR, { name: 'web01', address: sshd.host, port: sshd.port });
    const su = await services.systemUsers.create(SYSTEM_ACTOR, { name: 'app', username: sshd.username, password: sshd.password });
    await services.permissions.create(SYSTEM_ACTOR, { name: 'bench', users: [user.id], assets: [asset.id], systemUsers: [su.id], actions: ['connect', 'upload', 'download'] });
  } finally {
    await services.close();
  }
  const port = await freePort();
  const child = spawn(process.execPath, productArgs('server'), {
    env: { ...process.env, ...env, BASTION_HTTP_PORT: String(port), BASTION_SSH_PORT: '0' }, stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}/api/v1`;
  try {
    for (let i = 0; ; i++) {
      const up = await fetch(`${base}/health`).then((r) => r.ok, () => false);
      if (up) break;
      if (i > 600) throw new Error('the server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const login = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: PASSWORD }) });
    const cookie = /bastion_session=[^;]*/.exec(login.headers.get('set-cookie') ?? '')?.[0];
    if (!cookie) throw new Error(`login failed: ${login.status}`);
    const q = (path: string) => `?${new URLSearchParams({ asset: 'web01', systemUser: 'app', path })}`;
    // The file-manager session is open (logged in to the asset) before the idle figure is taken.
    await fetch(`${base}/me/files${q(remote)}`, { headers: { cookie } });
    await new Promise((r) => setTimeout(r, 1000));
    const idle = rssOf(child.pid!);

    const chunk = Buffer.alloc(MiB);
    for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i);
    const sent = createHash('sha256');
    let left = size;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (left <= 0) { c.close(); return; }
        const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= piece.length;
        sent.update(piece);
        c.enqueue(new Uint8Array(piece));
      },
    });
    const path = `${remote}/big.bin`;
    let s = sampler(child.pid!);
    let t0 = performance.now();
    const put = await fetch(`${base}/me/files/upload${q(path)}`, { method: 'PUT', body, duplex: 'half', headers: { cookie, 'content-type': 'application/octet-stream', 'content-length': String(size) } } as RequestInit);
    if (put.status !== 201) throw new Error(`upload: ${put.status} ${await put.text()}`);
    const upMs = performance.now() - t0;
    const upPeak = s.stop();

    s = sampler(child.pid!);
    t0 = performance.now();
    const res = await fetch(`${base}/me/files/download${q(path)}`, { headers: { cookie } });
    const got = createHash('sha256');
    let n = 0;
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
      got.update(c);
      n += c.length;
    }
    const downMs = performance.now() - t0;
    const downPeak = s.stop();
    const same = n === size && got.digest('hex') === sent.digest('hex');

    const mb = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
    const rate = (ms: number) => `${((size / MiB) / (ms / 1000)).toFixed(0)} MiB/s`;
    console.log(`\nweb file manager, ${size / MiB} MiB through bastion server (its own process) to a loopback sshd`);
    console.log(`  idle RSS (file session open)  ${mb(idle)}`);
    console.log(`  upload    peak RSS ${mb(upPeak)} (+${mb(upPeak - idle)})  ${rate(upMs)}`);
    console.log(`  download  peak RSS ${mb(downPeak)} (+${mb(downPeak - idle)})  ${rate(downMs)}  byte-exact: ${same ? 'yes' : 'NO'}`);
    if (!same) throw new Error('the download differs from the upload');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await sshd.stop();
    await cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runWebFilesBench();
