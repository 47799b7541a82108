// The product as users run it: `node dist/bin/bastion.js <command>` (productCommand.ts) as its own process
// (with its gateway workers, when the command starts them), on loopback, started from the
// environment alone, the way an operator starts it. For suites that test the shipped topology.
import assert from 'node:assert/strict';
import { execa, type ResultPromise } from 'execa';
import { productArgs } from './productCommand.ts';

export interface Product {
  readonly child: ResultPromise;
  /** Everything the process (and its workers) printed so far. */
  output(): string;
}

export interface ProductOptions {
  /** BASTION_LOG_LEVEL (default warn); info shows which gateway worker took what. */
  logLevel?: string;
  /** Echo the process's output on stderr when this environment variable is set (for debugging). */
  echoVar?: string;
  timeoutMs?: number;
}

/** Starts the command with only PATH, HOME and `env` (plus loopback binding) and waits until it says it is running. */
export async function startProduct(command: 'start' | 'server' | 'gateway', env: Record<string, string>, opts: ProductOptions = {}): Promise<Product> {
  const child = execa(process.execPath, productArgs(command), {
    // Pretty logs: the welcome ('Bastion is running.') is printed as text, not as a JSON line (which warn would hide).
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', BASTION_BIND: '127.0.0.1', BASTION_LOG_LEVEL: opts.logLevel ?? 'warn', BASTION_LOG_FORMAT: 'pretty', ...env },
    extendEnv: false, reject: false, all: true, timeout: opts.timeoutMs ?? 300_000,
  });
  let out = '';
  const echo = opts.echoVar ? process.env[opts.echoVar] : undefined;
  child.all!.on('data', (d: Buffer) => { out += d.toString(); if (echo) process.stderr.write(d); });
  // With BASTION_LOG_FORMAT=json (a test that reads pids from the log lines) the welcome is a JSON line.
  const running = () => out.includes('Bastion is running') || out.includes('"msg":"bastion is running"');
  for (let i = 0; i < 2400 && !running(); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(running(), `bastion ${command} did not start:\n${out.slice(0, 3000)}`);
  return { child, output: () => out };
}

/** SIGTERM, and the process must exit cleanly (status 0): a crash on the way out is a failure. */
export async function stopProduct(p: Product | undefined): Promise<void> {
  if (!p) return;
  p.child.kill('SIGTERM');
  const r = await p.child;
  assert.equal(r.exitCode, 0, p.output().slice(-2000));
}
