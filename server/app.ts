import express, { Router, type Express } from 'express';
import compression from 'compression';
import type { Services } from '../core/services.ts';
import { NotFoundError } from '../core/errors.ts';
import { clientAddressResolver } from './middleware/clientAddress.ts';
import { errorHandler } from './middleware/errors.ts';
import { jsonOnly } from './middleware/jsonOnly.ts';
import { securityHeaders } from './middleware/securityHeaders.ts';
import { buildOpenApi } from './openapi.ts';
import { mount, type AnyRoute } from './routes/define.ts';
import { allRoutes } from './routes/index.ts';
import { fileRoutes } from './routes/files.ts';
import type { FileSessions } from '../gateway/webFiles/fileSessions.ts';
import { mountWebApp } from './webApp.ts';
import { healthRoutes } from './routes/health.ts';
import { httpMetrics } from './middleware/httpMetrics.ts';

export interface AppOptions {
  /** Extra routes from other bounded contexts (sessions, jobs…). */
  routes?: AnyRoute[];
  /** The web file manager's sessions (server/http.ts makes them); without, its routes answer 503. */
  files?: FileSessions;
  webDist?: string;
}

/** Builds the HTTP app without listening, so tests and the CLI share it. */
export function createApp(services: Services, opts: AppOptions = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('trust proxy', false);
  app.use(httpMetrics(services.metrics));
  app.use(securityHeaders);
  // The web bundle is ~1 MB of JS; gzip makes the first load about a third of that.
  app.use(compression({ filter: (req, res) => !String(res.getHeader('Content-Type') ?? '').includes('asciicast') && compression.filter(req, res) }));
  const clientAddress = clientAddressResolver(services.config.trustProxy);
  const routes = [...allRoutes, ...fileRoutes(opts.files ?? null), ...(opts.routes ?? [])];
  const openapi = buildOpenApi(routes);

  const api = Router();
  // Byte-stream uploads first: they carry their own content-type and origin rule (define.ts).
  mount(api, services, routes.filter((r) => r.rawBody), clientAddress);
  api.use(jsonOnly);
  api.use(express.json({ limit: '1mb', strict: true, type: 'application/json' }));
  api.get('/openapi.json', (_req, res) => { res.json(openapi); });
  api.get('/health', (_req, res) => { res.json({ ok: true }); });
  mount(api, services, routes.filter((r) => !r.rawBody), clientAddress);
  api.use(() => { throw new NotFoundError('no such endpoint', { reason: 'no_such_endpoint' }); });
  app.use('/api/v1', api);
  app.use(healthRoutes(services, { metricsNeedToken: true }));
  app.use('/api', () => { throw new NotFoundError('no such endpoint', { reason: 'no_such_endpoint' }); });

  mountWebApp(app, opts.webDist);
  app.use(errorHandler(services.log));
  return app;
}
