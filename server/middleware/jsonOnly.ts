import type { NextFunction, Request, Response } from 'express';
import { sendError } from './errors.ts';

/**
 * Mutating requests must be JSON: besides the API contract, this keeps cross-site forms
 * (which cannot send application/json without a preflight) from reaching any handler.
 */
export function jsonOnly(req: Request, res: Response, next: NextFunction): void {
  const mutating = req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH' || (req.method === 'DELETE' && Number(req.headers['content-length'] ?? 0) > 0);
  if (mutating && !req.is('application/json')) {
    sendError(res, 415, 'unsupported_media_type', 'requests that change data must be application/json', { reason: 'json_required' });
    return;
  }
  next();
}
