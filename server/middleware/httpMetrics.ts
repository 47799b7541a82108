import type { NextFunction, Request, Response } from 'express';
import type { Metrics } from '../../core/metrics.ts';

/**
 * Times every HTTP request into bastion_http_request_duration_seconds. The route label is the
 * matched pattern (`/api/v1/users/:id`), never the path itself, so ids do not make a series
 * each; what matched no API route is `web` (the app and its assets) or `unmatched`.
 */
export function httpMetrics(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.httpDuration.observe({ method: req.method, route: routeLabel(req), status: String(res.statusCode) }, seconds);
    });
    next();
  };
}

function routeLabel(req: Request): string {
  const pattern: unknown = req.route?.path;
  const url = req.originalUrl;
  if (typeof pattern === 'string') {
    if (url.startsWith('/api/v1/')) return `/api/v1${pattern}`;
    if (pattern.startsWith('/')) return pattern;
  }
  if (url.startsWith('/api/') || url.startsWith('/ws/')) return 'unmatched';
  return 'web';
}
