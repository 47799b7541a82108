import { z } from 'zod';
import { serialize } from 'cookie';
import type { Request, Response } from 'express';
import { DomainError, RateLimitedError, UnauthenticatedError, ValidationError } from '../../core/errors.ts';
import { LoginFlow } from '../../core/identity/loginFlow.ts';
import type { LoginFailure } from '../../core/identity/authentication.ts';
import { SESSION_COOKIE } from '../middleware/authenticate.ts';
import { isSecureRequest } from '../middleware/clientAddress.ts';
import { presentUser } from '../presenters/identity.ts';
import { route, type AnyRoute } from './define.ts';
import { isDatabaseUnavailable } from '../../core/db/databaseFaults.ts';
import { passwordPolicy } from '../../core/identity/passwordRules.ts';
import type { Services } from '../../core/services.ts';

const loginBody = z.object({
  username: z.string().min(1).max(128),
  password: z.string().min(1).max(1024),
  totp: z.string().max(16).optional(),
}).strict();

const passwordBody = z.object({ oldPassword: z.string().min(1).max(1024), newPassword: z.string().min(1).max(1024) }).strict();

/** `secure`: the request came over TLS, directly or through a trusted proxy (isSecureRequest). */
function setSessionCookie(req: Request, res: Response, token: string, maxAgeSeconds: number, trustProxy: string[]): void {
  res.setHeader('Set-Cookie', serialize(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/', secure: isSecureRequest(req, trustProxy), maxAge: maxAgeSeconds }));
}

export const authRoutes: AnyRoute[] = [
  route({
    method: 'post', path: '/auth/login', tag: 'auth', access: 'public', summary: 'Log in with username, password and (when enrolled) a TOTP code; sets the session cookie',
    body: loginBody,
    handler: async ({ req, res, body, services, clientAddress }) => {
      try {
        return await login(req, res, body, services, clientAddress);
      } catch (err) {
        // Refused for a database outage (503): the attempt's LoginLog row waits in the journal.
        if (isDatabaseUnavailable(err)) services.authentication.unavailable(body.username, { clientAddress, channel: 'web' }, 'password');
        throw err;
      }
    },
  }),
  route({
    method: 'get', path: '/auth/password-policy', tag: 'auth', access: 'public', summary: 'The password rules (length, not the username, not one repeated character, not a common password), for checking as the user types',
    handler: async () => passwordPolicy(),
  }),
  route({
    method: 'post', path: '/auth/logout', tag: 'auth', access: 'public', summary: 'End the browser session', status: 204,
    handler: async ({ req, res, auth, services }) => {
      if (auth?.sessionId) await services.webSessions.revoke(auth.sessionId);
      res.setHeader('Set-Cookie', serialize(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', path: '/', secure: isSecureRequest(req, services.config.trustProxy), maxAge: 0 }));
      return undefined;
    },
  }),
  route({
    method: 'post', path: '/auth/password', tag: 'auth', access: 'self', duringPasswordChange: true, duringMfaEnrolment: true, summary: 'Change your own password (ends your other web sessions and revokes your API tokens)', status: 204,
    body: passwordBody,
    handler: async ({ body, auth, actor, services }) => {
      // The current password is a guess like a login's: throttled, counted and logged.
      const check = await services.authentication.password(auth.user.username, body.oldPassword, { clientAddress: actor.clientAddress, channel: 'web' }, 'password-change');
      if (!check.ok) {
        if (check.failure === 'rate_limited') throw new RateLimitedError(check.message, { reason: 'rate_limited' });
        throw new ValidationError('current password is wrong', { field: 'oldPassword', reason: 'wrong_password' });
      }
      await services.users.changeOwnPassword(actor, auth.user.id, body.oldPassword, body.newPassword, auth.sessionId ?? undefined);
      return undefined;
    },
  }),
];

/** The web edge of the one login state machine (core/identity/loginFlow.ts): each request runs it from the start with what the body carries. */
async function login(req: Request, res: Response, body: z.infer<typeof loginBody>, services: Services, clientAddress: string) {
  const flow = new LoginFlow(services.authentication, services.users, body.username, { clientAddress, channel: 'web' });
  const first = await flow.password(body.password);
  if (!first.ok) throw refusal(first);
  if (first.next === 'totp') {
    if (!body.totp) throw new UnauthenticatedError('enter the one-time code from your authenticator app', { reason: 'totp_required', field: 'totp' });
    const second = await flow.totp(body.totp);
    if (!second.ok) throw refusal(second, 'totp');
  }
  // A forced change or a required enrolment is done in the app, with a session that can do nothing else.
  const user = await flow.complete({ deferPasswordChange: true, deferMfaEnrolment: true });
  const { token } = await services.webSessions.create(user, { clientAddress, userAgent: String(req.headers['user-agent'] ?? '') });
  setSessionCookie(req, res, token, services.config.sessionTtlMinutes * 60, services.config.trustProxy);
  const fresh = await services.users.get(user.id);
  return { user: presentUser(fresh), mustChangePassword: fresh.mustChangePassword, mfaEnrolmentRequired: await services.mfaPolicy.enrolmentRequired(fresh) };
}

/** The flow's refusal as an HTTP error: 429 for the source's rate, else one 401 for every cause (rule 9). */
function refusal(res: { failure: LoginFailure; message: string }, field?: 'totp'): DomainError {
  if (res.failure === 'rate_limited') return new RateLimitedError(res.message, { reason: 'rate_limited' });
  const reason = res.failure === 'invalid_totp' || res.failure === 'totp_reused' ? res.failure : 'invalid_credentials';
  return new UnauthenticatedError(res.message, { reason, ...(field ? { field } : {}) });
}
