import { createServer } from 'node:net';
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Ports for a test to bind later (an sshd, a product, a container's published ports). Test
 * files run two at a time (scripts/test.sh), and a port the OS picked and then released is
 * free for anyone until its user binds it: another file's freePort, or any process binding
 * port 0. So the ports come from below the kernel's ephemeral range, which bind(0) and
 * outgoing connections never use, and each is claimed in a directory every test process
 * shares (a file named after the port, holding the claimer's pid) until its process exits.
 */
export const PORT_CLAIMS = join(tmpdir(), 'bastion-test-ports');
const LOWEST = 10_000;

/** This process's claims, released when it exits. */
const claimed = new Set<number>();

let range: { low: number; high: number } | null = null;

/** [LOWEST, the ephemeral range's start): ports nothing hands out by itself. */
function portRange(): { low: number; high: number } {
  if (range) return range;
  let ephemeralLow = 32_768;
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    // not Linux: the IANA ephemeral range starts at 49152, above the default used here
  }
  if (ephemeralLow - LOWEST < 1000) throw new Error(`freePort: the ephemeral port range starts at ${ephemeralLow}, leaving fewer than 1000 ports above ${LOWEST} for tests`);
  range = { low: LOWEST, high: ephemeralLow - 1 };
  return range;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates `file` holding this process's pid; false when it exists. */
function createHeld(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, String(process.pid));
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The pid in a claim file; 0 while it is being written; null once it is gone. */
function holderOf(file: string): number | null {
  try {
    return Number(readFileSync(file, 'utf8')) || 0;
  } catch {
    return null;
  }
}

/** Claims `port` for this process; false when a live process holds it. Exported for its test (infra). */
export function claimPort(port: number): boolean {
  const file = join(PORT_CLAIMS, String(port));
  if (createHeld(file)) {
    claimed.add(port);
    return true;
  }
  const holder = holderOf(file);
  if (holder === 0 || (holder !== null && alive(holder))) return false;
  // Released meanwhile, or left by a process that died before its exit hook ran (SIGKILL, a
  // runner's timeout). Taking a dead claim over is done under a lock, so that two processes
  // that both saw it dead cannot both remove it and claim the port.
  const lock = `${file}.takeover`;
  if (!createHeld(lock)) return false;
  try {
    if (holder !== null && holderOf(file) === holder) unlinkSync(file);
    if (!createHeld(file)) return false;
    claimed.add(port);
    return true;
  } finally {
    unlinkSync(lock);
  }
}

function releaseClaims(): void {
  for (const port of claimed) {
    const file = join(PORT_CLAIMS, String(port));
    // Only this process's own claim file (never one another process holds now).
    if (holderOf(file) !== process.pid) continue;
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
  claimed.clear();
}

let hooked = false;

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port on 127.0.0.1 that is free now and that no other test process (and no bind to
 * port 0) will be given: claimed for this process until it exits, never handed out twice.
 */
export async function freePort(): Promise<number> {
  const { low, high } = portRange();
  mkdirSync(PORT_CLAIMS, { recursive: true });
  if (!hooked) {
    hooked = true;
    process.once('exit', releaseClaims);
  }
  const span = high - low + 1;
  let port = low + Math.floor(Math.random() * span);
  for (let i = 0; i < 200; i++, port = port >= high ? low : port + 1) {
    if (claimed.has(port) || !claimPort(port)) continue;
    if (await bindable(port)) return port;
    // Bound by something outside the tests: keep the claim (this process will not try it again).
  }
  throw new Error(`freePort: no free port found among 200 tried in ${low}–${high}; claims are in ${PORT_CLAIMS}`);
}
