import type { ErrorReason } from './errorReasons.ts';

export type ErrorDetails = { reason: ErrorReason } & Record<string, unknown>;

/**
 * Domain errors. Core throws these; the HTTP error middleware and the gateway's
 * terminal writer map them to a status code or a line, so no stack trace reaches a user.
 */
export class DomainError extends Error {
  readonly code: string = 'error';
  readonly status: number = 500;
  /** `details.reason` is required: every error a client can see has a stable reason it can translate (core/errorReasons.ts). */
  constructor(message: string, readonly details: ErrorDetails) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends DomainError {
  override readonly code = 'validation_failed';
  override readonly status = 400;
}

export class UnauthenticatedError extends DomainError {
  override readonly code = 'unauthenticated';
  override readonly status = 401;
}

export class ForbiddenError extends DomainError {
  override readonly code = 'forbidden';
  override readonly status = 403;
}

export class NotFoundError extends DomainError {
  override readonly code = 'not_found';
  override readonly status = 404;
}

export class ConflictError extends DomainError {
  override readonly code = 'conflict';
  override readonly status = 409;
}

/** A request body of a type the endpoint does not take. */
export class UnsupportedMediaTypeError extends DomainError {
  override readonly code = 'unsupported_media_type';
  override readonly status = 415;
}

export class LockedError extends DomainError {
  override readonly code = 'locked';
  override readonly status = 423;
}

/** The same operation was asked for again too soon. */
export class RateLimitedError extends DomainError {
  override readonly code = 'rate_limited';
  override readonly status = 429;
}

export class UnavailableError extends DomainError {
  override readonly code = 'unavailable';
  override readonly status = 503;
}
