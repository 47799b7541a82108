/**
 * What a gateway process's event loop went through while a bench ran (BENCH_GATEWAY_LOOP_STATS=1):
 * how late a 1 ms timer fired (p50/p95/p99/max: the turn a keystroke arriving meanwhile waits
 * out, plus any time the process waited for a CPU), the share of the time the loop was busy
 * (event loop utilization), and V8's collections by kind (count, total and p95 duration). Kept
 * beside the echo figures because the keystroke's wait in the gateway is the loop's, and the
 * loop's is what these say (issue 13 item 8).
 */
import { constants, monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';

/** V8's GC kinds as perf_hooks reports them (its constants: a mark-compact is 4, not 2). */
const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callbacks',
};

export function startLoopStats(): () => string {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const elu0 = performance.eventLoopUtilization();
  const gcs = new Map<string, number[]>();
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0;
      const name = GC_KINDS[kind] ?? `kind-${kind}`;
      let durations = gcs.get(name);
      if (!durations) gcs.set(name, (durations = []));
      durations.push(e.duration);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => {
    observer.disconnect();
    delay.disable();
    const ms = (ns: number): string => (ns / 1e6).toFixed(2);
    const elu = performance.eventLoopUtilization(elu0).utilization;
    const gc = [...gcs].map(([name, d]) => {
      d.sort((a, b) => a - b);
      const sum = d.reduce((a, b) => a + b, 0);
      return `${name} ×${d.length} ${sum.toFixed(0)} ms (p95 ${(d[Math.floor(d.length * 0.95)] ?? 0).toFixed(2)})`;
    }).join(', ');
    return `loop delay p50 ${ms(delay.percentile(50))} p95 ${ms(delay.percentile(95))} p99 ${ms(delay.percentile(99))} max ${ms(delay.max)} ms, ELU ${elu.toFixed(2)}; gc ${gc}`;
  };
}
