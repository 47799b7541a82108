/**
 * Prometheus metrics (GET /metrics). One registry per set of services, no module singleton:
 * tests run several bastions in one process, each with its own numbers. Every process (the
 * primary, each gateway worker) counts its own; the process that serves /metrics adds the
 * others' through `addSource` (bin/gatewayCluster.ts asks its workers over cluster IPC) and
 * prom-client's aggregator sums them (counters, histograms, live sessions), while the
 * per-process series (event-loop lag, memory, CPU) keep their own `process` label.
 */
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from 'prom-client';

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];
/** Another process's metrics, as prom-client's getMetricsAsJSON() gives them. */
export type MetricsSource = () => Promise<MetricsJson[]>;

export type LoginChannel = 'ssh' | 'web' | 'api';
export type SessionKindLabel = 'shell' | 'exec' | 'sftp' | 'tunnel';
const SESSION_KINDS: SessionKindLabel[] = ['shell', 'exec', 'sftp', 'tunnel'];

export class Metrics {
  readonly registry = new Registry();
  readonly liveSessions: Gauge<'kind'>;
  readonly logins: Counter<'channel' | 'result'>;
  readonly gatewayBytes: Counter<'direction'>;
  readonly recordingWriteErrors: Counter;
  readonly busLag: Histogram;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly jobs: Gauge<'status'>;
  readonly #sources = new Set<MetricsSource>();
  readonly #collectors = new Set<() => Promise<void> | void>();

  /** `processName` labels this process's own series (event-loop lag, memory): `main`, `gateway-worker-2`. */
  constructor(readonly processName = 'main') {
    const registers = [this.registry];
    this.liveSessions = new Gauge({ name: 'bastion_live_sessions', help: 'Sessions open now, by kind (shell, exec, sftp, tunnel).', labelNames: ['kind'], registers });
    // Every kind is always there (0 when none), so a dashboard's query never finds nothing.
    for (const kind of SESSION_KINDS) this.liveSessions.set({ kind }, 0);
    this.logins = new Counter({ name: 'bastion_logins_total', help: 'Login attempts, by channel (ssh, web, api) and result (ok, failed).', labelNames: ['channel', 'result'], registers });
    this.gatewayBytes = new Counter({ name: 'bastion_gateway_bytes_total', help: 'Bytes through the gateway: in = operator to server, out = server to operator.', labelNames: ['direction'], registers });
    this.recordingWriteErrors = new Counter({ name: 'bastion_recording_write_errors_total', help: 'Recordings that could not be started or written (the session was refused, or marked incomplete).', registers });
    this.busLag = new Histogram({
      name: 'bastion_bus_lag_seconds', help: 'Time from publishing a bus message to hearing it back through PostgreSQL (LISTEN/NOTIFY).',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers,
    });
    this.httpDuration = new Histogram({
      name: 'bastion_http_request_duration_seconds', help: 'HTTP request latency, by method, route (the pattern, not the path) and status.',
      labelNames: ['method', 'route', 'status'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers,
    });
    this.jobs = new Gauge({ name: 'bastion_jobs', help: 'Jobs (connectivity tests, facts, command runs, pushes) in the database, by status.', labelNames: ['status'], registers });
    collectDefaultMetrics({ register: this.registry, labels: { process: processName } });
  }

  /** A number that is only known when asked (job counts from the database): run before each scrape. */
  onCollect(fn: () => Promise<void> | void): () => void {
    this.#collectors.add(fn);
    return () => this.#collectors.delete(fn);
  }

  /** Metrics of other processes (gateway workers) to add to this one's. */
  addSource(source: MetricsSource): () => void {
    this.#sources.add(source);
    return () => this.#sources.delete(source);
  }

  sessionStarted(kind: SessionKindLabel): void {
    this.liveSessions.inc({ kind });
  }

  sessionEnded(kind: SessionKindLabel): void {
    this.liveSessions.dec({ kind });
  }

  /** Bytes a session moved since it was last counted. */
  bytes(bytesIn: number, bytesOut: number): void {
    if (bytesIn > 0) this.gatewayBytes.inc({ direction: 'in' }, bytesIn);
    if (bytesOut > 0) this.gatewayBytes.inc({ direction: 'out' }, bytesOut);
  }

  login(channel: LoginChannel, ok: boolean): void {
    this.logins.inc({ channel, result: ok ? 'ok' : 'failed' });
  }

  /** This process's metrics as JSON, for the process that aggregates. */
  async json(): Promise<MetricsJson> {
    await this.#collect();
    return this.registry.getMetricsAsJSON() as Promise<MetricsJson>;
  }

  /** The Prometheus text of this process and every source, summed where the series are the same. */
  async render(): Promise<{ contentType: string; body: string }> {
    const own = await this.json();
    const others = await Promise.all([...this.#sources].map((s) => s().catch(() => [] as MetricsJson[])));
    const all = [own, ...others.flat()];
    const body = all.length === 1 ? await this.registry.metrics() : await AggregatorRegistry.aggregate(all).metrics();
    return { contentType: this.registry.contentType, body };
  }

  close(): void {
    this.#sources.clear();
    this.#collectors.clear();
    this.registry.clear();
  }

  async #collect(): Promise<void> {
    for (const fn of this.#collectors) {
      try {
        await fn();
      } catch {
        // A number that cannot be had now (the database is away) is left as it was.
      }
    }
  }
}
