import type { NextFunction, Request, Response } from 'express';
import { DomainError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { isDatabaseUnavailable } from '../../core/db/databaseFaults.ts';

export function sendError(res: Response, status: number, code: string, message: string, details?: Record<string, unknown>): void {
  res.status(status).json({ error: details ? { code, message, details } : { code, message } });
}

interface HttpParserError { type?: string; status?: number; expose?: boolean }

/** The one place that turns errors into HTTP: domain errors by type, parser errors as 4xx, the rest as a bare 500. */
export function errorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof DomainError) {
      sendError(res, err.status, err.code, err.message, err.details);
      return;
    }
    const pe = err as HttpParserError;
    if (pe && typeof pe.status === 'number' && pe.status >= 400 && pe.status < 500) {
      const messages: Record<string, string> = {
        'entity.too.large': 'request body is too large',
        'entity.parse.failed': 'request body is not valid JSON',
        'encoding.unsupported': 'unsupported request encoding',
        'charset.unsupported': 'unsupported charset',
      };
      sendError(res, pe.status, pe.type?.replace(/\./g, '_') ?? 'bad_request', messages[pe.type ?? ''] ?? 'bad request');
      return;
    }
    if (isUniqueViolation(err)) {
      sendError(res, 409, 'conflict', 'a record with these values exists');
      return;
    }
    if (isDatabaseUnavailable(err)) {
      // An outage is not a bug of the request: say what it is, so clients retry and admins look at the database.
      log.warn({ err: { message: (err as Error).message, code: (err as { code?: unknown }).code }, method: req.method, path: req.path }, 'database unavailable');
      sendError(res, 503, 'database_unavailable', 'the bastion cannot reach its database; try again shortly');
      return;
    }
    log.error({ err, method: req.method, path: req.path }, 'unhandled error');
    sendError(res, 500, 'internal', 'internal error');
  };
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string }; message?: string };
  return e?.code === 'SQLITE_CONSTRAINT' && /UNIQUE/.test(e.message ?? '') || e?.driverError?.code === '23505' || e?.code === '23505';
}
