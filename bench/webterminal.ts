/**
 * Web terminal latency (issue 14, item 3): a key to its echo through the web terminal (browser
 * websocket → HTTP process → the gateway's channel pipeline → sshd) against the same through the
 * SSH gateway (ssh2 client → gateway → sshd), in the same run, keys taken in turn on both so that
 * they see the same host at the same moments. Both are bash shells on the loopback sshd, typing
 * within one line (readline echoes each key). Target: web p50 within 5 ms of the SSH p50.
 *
 * Run: npm run bench -- webterminal   [WEBTERM_KEYS=400]
 */
import { pathToFileURL } from 'node:url';
import ssh2, { type ClientChannel } from 'ssh2';
import WebSocket from 'ws';
import { startBastion } from '../test/helpers/bastion.ts';
import { factories } from '../test/helpers/factories.ts';
import { loggedIn } from '../test/helpers/api.ts';
import { startSshd } from '../test/helpers/sshd.ts';
import { cleanup } from '../test/helpers/tmp.ts';

const PASSWORD = 'Keys-to-echo-2024';

interface Probe {
  roundTrip(): Promise<number>;
  close(): void;
}

/**
 * Sends one key with `send` and resolves once its echo has arrived, in ms: output is counted in
 * keys echoed (every key is an `x` typed within one line), so a late chunk of an earlier echo
 * cannot end a later probe.
 */
function prober(name: string, send: (key: string) => void): { onOutput: (text: string) => void; roundTrip: () => Promise<number> } {
  let sent = 0;
  let echoed = 0;
  let waiter: (() => void) | null = null;
  return {
    onOutput: (text) => {
      for (const ch of text) if (ch === 'x') echoed++;
      if (waiter && echoed >= sent) {
        const w = waiter;
        waiter = null;
        w();
      }
    },
    roundTrip: () => new Promise((resolve, reject) => {
      const t0 = performance.now();
      const timer = setTimeout(() => reject(new Error(`${name}: no echo within 10 s`)), 10_000);
      waiter = () => {
        clearTimeout(timer);
        resolve(performance.now() - t0);
      };
      sent++;
      send('x');
    }),
  };
}

async function waitPrompt(text: () => string): Promise<void> {
  for (let i = 0; i < 300 && !/\$ $/.test(text()); i++) await new Promise((r) => setTimeout(r, 50));
  if (!/\$ $/.test(text())) throw new Error(`no prompt: ${text().slice(-200)}`);
}

async function sshProbe(port: number): Promise<Probe> {
  const client = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve).once('error', reject).connect({ host: '127.0.0.1', port, username: 'bench@web01', password: PASSWORD });
  });
  const ch = await new Promise<ClientChannel>((resolve, reject) => {
    client.shell({ term: 'xterm-256color', cols: 200, rows: 50 }, (err, c) => (err ? reject(err) : resolve(c)));
  });
  let out = '';
  let prompted = false;
  const p = prober('ssh', (k) => ch.write(k));
  ch.on('data', (d: Buffer) => {
    const text = d.toString();
    out += text;
    if (prompted) p.onOutput(text);
  });
  await waitPrompt(() => out);
  prompted = true;
  return { roundTrip: p.roundTrip, close: () => client.end() };
}

async function webProbe(baseUrl: string, cookie: string): Promise<Probe> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws/terminal?asset=web01&cols=200&rows=50`, { headers: { cookie, origin: baseUrl } });
  await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
  let out = '';
  let prompted = false;
  const p = prober('web', (k) => ws.send(Buffer.from(k), { binary: true }));
  ws.on('message', (d, binary) => {
    if (!binary) return;
    const text = Buffer.from(d as Buffer).toString();
    out += text;
    if (prompted) p.onOutput(text);
  });
  await waitPrompt(() => out);
  prompted = true;
  return { roundTrip: p.roundTrip, close: () => ws.close(1000) };
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

export interface WebTerminalBenchResult {
  keys: number;
  sshP50: number;
  sshP95: number;
  webP50: number;
  webP95: number;
}

export async function runWebTerminalBench(env: NodeJS.ProcessEnv = process.env): Promise<WebTerminalBenchResult> {
  const keys = Math.max(50, Number(env.WEBTERM_KEYS ?? 400));
  console.log('\nWeb terminal: key-to-echo latency, web terminal vs SSH gateway (same run, keys in turn)');
  const sshd = await startSshd();
  const b = await startBastion({ gateway: true });
  try {
    const f = factories(b.services);
    const user = await f.user({ username: 'bench', password: PASSWORD });
    const asset = await f.asset({ name: 'web01', address: sshd.host, port: sshd.port });
    const su = await f.systemUser({ name: 'app', username: sshd.username, password: sshd.password });
    await f.permission({ users: [user.id], assets: [asset.id], systemUsers: [su.id] });
    const api = await loggedIn(b.baseUrl, 'bench', PASSWORD);
    const ssh = await sshProbe(b.sshPort);
    const web = await webProbe(b.baseUrl, api.cookie!);
    // Warm-up: JIT, TCP windows, the first command-guard pass.
    for (let i = 0; i < 30; i++) {
      await ssh.roundTrip();
      await web.roundTrip();
    }
    const s: number[] = [];
    const w: number[] = [];
    for (let i = 0; i < keys; i++) {
      // Alternate which goes first, so neither always follows the other's wake-up.
      if (i % 2 === 0) {
        s.push(await ssh.roundTrip());
        w.push(await web.roundTrip());
      } else {
        w.push(await web.roundTrip());
        s.push(await ssh.roundTrip());
      }
    }
    ssh.close();
    web.close();
    const r: WebTerminalBenchResult = { keys, sshP50: pct(s, 50), sshP95: pct(s, 95), webP50: pct(w, 50), webP95: pct(w, 95) };
    const f2 = (n: number) => n.toFixed(2);
    console.table([
      { path: 'SSH gateway (ssh2 → gateway → sshd)', 'p50 ms': f2(r.sshP50), 'p95 ms': f2(r.sshP95) },
      { path: 'web terminal (ws → HTTP process pipeline → sshd)', 'p50 ms': f2(r.webP50), 'p95 ms': f2(r.webP95) },
    ]);
    const diff = r.webP50 - r.sshP50;
    console.log(`${keys} keys each; web p50 − SSH p50 = ${f2(diff)} ms (target ≤ 5 ms): ${diff <= 5 ? 'met' : 'NOT met'}`);
    return r;
  } finally {
    await b.stop();
    await sshd.stop();
    await cleanup();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runWebTerminalBench();
