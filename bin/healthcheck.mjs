// The container's HEALTHCHECK: exits 0 when this container's bastion answers /healthz.
// Plain JavaScript and no project imports, so a probe every few seconds costs a bare `node`
// start, not a TypeScript load. It reads the two port variables itself (it is not part of the
// process it probes, so core/config.ts is not its config): the ops listener when one is
// configured (a `gateway`-only container has no web port), else the web port.
const env = process.env;
const metricsPort = Number(env.BASTION_METRICS_PORT ?? 0);
const port = metricsPort > 0 ? metricsPort : Number(env.BASTION_HTTP_PORT ?? 8080);
const host = metricsPort > 0 ? (env.BASTION_METRICS_BIND ?? '127.0.0.1') : '127.0.0.1';
const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/healthz`;
fetch(url, { signal: AbortSignal.timeout(2500) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1),
);
