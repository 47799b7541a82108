import type { NextFunction, Request, Response } from 'express';
import { DomainError, type ErrorDetails } from '../../core/errors.ts';
import type { ErrorReason } from '../../core/errorReasons.ts';
import type { Logger } from '../../core/logger.ts';
import { isDatabaseUnavailable } from '../../core/db/databaseFaults.ts';

/** Every error body carries a stable `details.reason` (core/errorReasons.ts) that clients translate. */
export function sendError(res: Response, status: number, code: string, message: string, details: ErrorDetails): void {
  res.status(status).json({ error: { code, message, details } });
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
      const known: Record<string, [ErrorReason, string]> = {
        'entity.too.large': ['body_too_large', 'request body is too large'],
        'entity.parse.failed': ['body_not_json', 'request body is not valid JSON'],
        'encoding.unsupported': ['encoding_unsupported', 'unsupported request encoding'],
        'charset.unsupported': ['charset_unsupported', 'unsupported charset'],
      };
      const [reason, message] = known[pe.type ?? ''] ?? ['bad_request', 'bad request'];
      sendError(res, pe.status, pe.type?.replace(/\./g, '_') ?? 'bad_request', message, { reason });
      return;
    }
    if (isUniqueViolation(err)) {
      sendError(res, 409, 'conflict', 'a record with these values exists', { reason: 'duplicate_record' });
      return;
    }
    if (isDatabaseUnavailable(err)) {
      // An outage is not a bug of the request: say what it is, so clients retry and admins look at the database.
      log.warn({ err: { message: (err as Error).message, code: (err as { code?: unknown }).code }, method: req.method, path: req.path }, 'database unavailable');
      sendError(res, 503, 'database_unavailable', 'the bastion cannot reach its database; try again shortly', { reason: 'database_unavailable' });
      return;
    }
    log.error({ err, method: req.method, path: req.path }, 'unhandled error');
    sendError(res, 500, 'internal', 'internal error', { reason: 'internal_error' });
  };
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string }; message?: string };
  return e?.code === 'SQLITE_CONSTRAINT' && /UNIQUE/.test(e.message ?? '') || e?.driverError?.code === '23505' || e?.code === '23505';
}
