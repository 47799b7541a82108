/**
 * `npm run bench`: every benchmark, one after the other, each printing its own table.
 * A benchmark that fails is reported and the others still run; the exit code says so.
 * `npm run bench -- gateway` (or interactive, cpu, api, playback, filters, commandlog, abuse, webterminal, webfiles, startup, web) runs only the ones named;
 * `rss` (1 GiB per client through the gateway, several minutes) runs only when named.
 */
import { runAbuseBench } from './abuse.ts';
import { runApiBench } from './api.ts';
import { runClientsBench, runRssBench } from './clients.ts';
import { runCommandLogBench } from './commandlog.ts';
import { runGatewayBench } from './gateway.ts';
import { runInteractiveBench } from './interactive.ts';
import { runCpuPerMBBench } from './cpuPerMB.ts';
import { runPlaybackBenchBothStores } from './playback.ts';
import { runFiltersBench } from './filters.ts';
import { runWebTerminalBench } from './webterminal.ts';
import { runWebFilesBench } from './webfiles.ts';
import { runStartupBench } from './startup.ts';
import { runWebBench } from './web.ts';

const benches: Array<[string, () => Promise<unknown>]> = [
  ['api', () => runApiBench()],
  ['gateway', () => runGatewayBench()],
  // Part of gateway; alone, the quick way to check interactive-first scheduling and the idle footprint.
  ['interactive', () => runInteractiveBench()],
  // The gateway's CPU, system calls and preemptions per relayed MB of PTY output (a figure that holds still on a loaded host).
  ['cpu', () => runCpuPerMBBench()],
  ['clients', () => runClientsBench()],
  // The clients' transfers at 1 GiB through the gateway only, for its RSS: minutes, so only when named.
  ['rss', () => runRssBench()],
  ['playback', () => runPlaybackBenchBothStores()],
  ['filters', () => runFiltersBench()],
  ['commandlog', () => runCommandLogBench()],
  ['abuse', () => runAbuseBench()],
  ['webterminal', () => runWebTerminalBench()],
  ['webfiles', () => runWebFilesBench()],
  // npm start: spawn to /readyz 200 and the idle footprint of its processes.
  ['startup', () => runStartupBench()],
  ['web', () => runWebBench()],
];

const only = process.argv.slice(2);
let failed = 0;
for (const [name, run] of benches) {
  // interactive is part of gateway, rss takes minutes, cpu is a probe for work on the hot path: each only when named.
  if (only.length > 0 ? !only.includes(name) : name === 'interactive' || name === 'rss' || name === 'cpu') continue;
  try {
    await run();
  } catch (err) {
    failed++;
    console.error(`\nbench ${name} failed:`, err instanceof Error ? err.message : err);
  }
}
process.exit(failed > 0 ? 1 : 0);
