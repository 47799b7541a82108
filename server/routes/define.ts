import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import type { Services } from '../../core/services.ts';
import type { Actor } from '../../core/actor.ts';
import type { Ability } from '../../core/access/accessService.ts';
import { ForbiddenError, UnauthenticatedError, UnsupportedMediaTypeError, ValidationError } from '../../core/errors.ts';
import { isErrorReason } from '../../core/errorReasons.ts';
import { authenticateRequest, type AuthContext } from '../middleware/authenticate.ts';
import { admissionRefusal } from '../middleware/admission.ts';

export type Method = 'get' | 'post' | 'patch' | 'delete' | 'put';

export interface HandlerContext<B, Q, P> {
  req: Request;
  res: Response;
  body: B;
  query: Q;
  params: P;
  auth: AuthContext;
  actor: Actor;
  services: Services;
}

export interface PublicHandlerContext<B, Q, P> extends Omit<HandlerContext<B, Q, P>, 'auth' | 'actor'> {
  auth: AuthContext | null;
  clientAddress: string;
}

/** Returned by a handler that wrote the response itself (streams, redirects). */
export const RESPONDED = Symbol('responded');

interface BaseDef<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType> {
  method: Method;
  path: string;
  summary: string;
  tag: string;
  body?: B;
  query?: Q;
  params?: P;
  status?: number;
  /** A user who must change their password may still call this. */
  duringPasswordChange?: boolean;
  /**
   * The body is a stream of bytes (application/octet-stream), left unread for the handler: the
   * route is mounted before the JSON rule, and takes only that content type from this origin.
   */
  rawBody?: boolean;
  /** A user whose role requires MFA and who has none set up may still call this (to enrol). */
  duringMfaEnrolment?: boolean;
}

export interface RouteDef<B extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, P extends z.ZodType = z.ZodType> extends BaseDef<B, Q, P> {
  access: Ability;
  handler: (ctx: HandlerContext<z.infer<B>, z.infer<Q>, z.infer<P>>) => Promise<unknown>;
}

export interface PublicRouteDef<B extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, P extends z.ZodType = z.ZodType> extends BaseDef<B, Q, P> {
  access: 'public';
  handler: (ctx: PublicHandlerContext<z.infer<B>, z.infer<Q>, z.infer<P>>) => Promise<unknown>;
}

export type AnyRoute = RouteDef<z.ZodType, z.ZodType, z.ZodType> | PublicRouteDef<z.ZodType, z.ZodType, z.ZodType>;

/** Typed identity for route definitions, so handlers see parsed input types. */
export function route<B extends z.ZodType = z.ZodUndefined, Q extends z.ZodType = z.ZodUndefined, P extends z.ZodType = z.ZodUndefined>(def: RouteDef<B, Q, P> | PublicRouteDef<B, Q, P>): AnyRoute {
  return def as unknown as AnyRoute;
}

/**
 * One zod issue as data the web app can word in any language: the field, zod's stable issue
 * code (`too_big`, `invalid_type`, …) and its parameters; `message` stays for API users.
 */
function presentIssue(i: z.core.$ZodIssue) {
  const raw = i as unknown as Record<string, unknown>;
  const params: Record<string, unknown> = {};
  for (const k of ['minimum', 'maximum', 'inclusive', 'origin', 'expected', 'format', 'keys', 'values'] as const) {
    const v = raw[k];
    if (v !== undefined) params[k] = typeof v === 'bigint' ? Number(v) : v;
  }
  // A custom check names its reason in its params (`refine(…, { params: { reason } })`): pass it on.
  const reason = (raw.params as { reason?: unknown } | undefined)?.reason;
  if (i.code === 'custom' && isErrorReason(reason)) params.reason = reason;
  return { field: i.path.map(String).join('.'), code: i.code, params, message: i.message };
}

export function parseInput<S extends z.ZodType>(schema: S | undefined, value: unknown, where: 'body' | 'query' | 'params'): z.infer<S> {
  if (!schema) return undefined as z.infer<S>;
  const r = schema.safeParse(value ?? (where === 'body' ? {} : value));
  if (r.success) return r.data;
  const first = presentIssue(r.error.issues[0]!);
  const field = first.field || where;
  const reason = isErrorReason(first.params.reason) ? first.params.reason : 'invalid_input';
  const detail = { reason, field, in: where, issue: first.code, params: first.params };
  if (where === 'params') throw new ValidationError(`invalid ${field}: ${first.message}`, detail);
  throw new ValidationError(`invalid ${field}: ${first.message}`, { ...detail, issues: r.error.issues.slice(0, 20).map(presentIssue) });
}

/** Mounts route definitions: authentication, role check via core/access, input parsing, output. */
export function mount(router: Router, services: Services, routes: AnyRoute[], clientAddress: (req: Request) => string): void {
  for (const def of routes) {
    router[def.method](def.path, async (req: Request, res: Response) => {
      const address = clientAddress(req);
      const auth = await authenticateRequest(services, req);
      if (def.access !== 'public') {
        if (!auth) throw new UnauthenticatedError('authentication required', { reason: 'authentication_required' });
        const refusal = await admissionRefusal(services, auth, def);
        if (refusal) throw refusal;
      }
      if (def.rawBody) refuseForeignBody(req);
      const params = parseInput(def.params, req.params, 'params');
      const query = parseInput(def.query, req.query, 'query');
      const body = parseInput(def.body, req.body, 'body');
      const base = { req, res, body, query, params, services };
      const result = def.access === 'public'
        ? await def.handler({ ...base, auth, clientAddress: address })
        : await def.handler({ ...base, auth: auth!, actor: { id: auth!.user.id, username: auth!.user.username, role: auth!.user.role, clientAddress: address } });
      if (result === RESPONDED) return;
      if (result === undefined) res.status(def.status ?? 204).end();
      else res.status(def.status ?? 200).json(result);
    });
  }
}

/**
 * The JSON rule's guard for a byte-stream body: a cross-site form cannot send
 * application/octet-stream, and a browser that sends an Origin must send this host's.
 */
function refuseForeignBody(req: Request): void {
  if (!req.is('application/octet-stream')) throw new UnsupportedMediaTypeError('the request body must be application/octet-stream', { reason: 'octet_stream_required' });
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string | null = null;
  try {
    host = new URL(origin).host;
  } catch {
    host = null;
  }
  if (host !== req.headers.host) throw new ForbiddenError('cross-origin request refused', { reason: 'cross_origin_refused' });
}
