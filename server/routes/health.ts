// Probes and metrics for whoever runs the bastion (container health checks, load balancers,
// Prometheus), outside /api/v1 where the conventions expect them: /healthz (the process
// answers), /readyz (its database, recordings store and gateway can serve now) and /metrics
// (Prometheus text). The probes need no login: they tell nothing about users or sessions.
// /metrics does tell (session and login counts): on the web port it answers only the
// BASTION_METRICS_TOKEN bearer; on the separate ops listener the bound address protects it.
import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type Request } from 'express';
import type { Services } from '../../core/services.ts';
import { NotFoundError, UnauthenticatedError } from '../../core/errors.ts';

export interface HealthRouteOptions {
  /** true on the web port: /metrics needs the token (and is not served when none is set). */
  metricsNeedToken: boolean;
}

export function healthRoutes(services: Services, opts: HealthRouteOptions): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const report = await services.readiness.report();
    res.setHeader('Cache-Control', 'no-store');
    res.status(report.ready ? 200 : 503).json({ status: report.ready ? 'ready' : 'not ready', checks: report.checks });
  });
  router.get('/metrics', async (req, res) => {
    if (opts.metricsNeedToken) checkMetricsToken(services, req);
    const { contentType, body } = await services.metrics.render();
    res.setHeader('Cache-Control', 'no-store');
    res.type(contentType).send(body);
  });
  return router;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

function checkMetricsToken(services: Services, req: Request): void {
  const token = services.config.metricsToken;
  if (!token) throw new NotFoundError('metrics are not served on this port: set BASTION_METRICS_TOKEN, or BASTION_METRICS_PORT for a listener of their own', { reason: 'metrics_not_served' });
  const m = /^Bearer (\S+)$/.exec(req.get('authorization') ?? '');
  // Digests of equal length, so the comparison takes the same time whatever was sent.
  if (!m || !timingSafeEqual(digest(m[1]!), digest(token.reveal()))) {
    throw new UnauthenticatedError('metrics need Authorization: Bearer <BASTION_METRICS_TOKEN>', { reason: 'metrics_token_required' });
  }
}
