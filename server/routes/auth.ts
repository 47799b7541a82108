import { z } from 'zod';
import { serialize } from 'cookie';
import type { Request, Response } from 'express';
import { UnauthenticatedError } from '../../core/errors.ts';
import { SESSION_COOKIE } from '../middleware/authenticate.ts';
import { isSecureRequest } from '../middleware/clientAddress.ts';
import { presentUser } from '../presenters/identity.ts';
import { route, type AnyRoute } from './define.ts';

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
      const ctx = { clientAddress, channel: 'web' as const };
      const first = await services.authentication.password(body.username, body.password, ctx);
      if (!first.ok) throw new UnauthenticatedError(first.message, { reason: first.failure === 'locked' ? 'locked' : 'invalid_credentials' });
      let user = first.user;
      if (services.authentication.needsTotp(user)) {
        if (!body.totp) throw new UnauthenticatedError('enter the one-time code from your authenticator app', { reason: 'totp_required', field: 'totp' });
        const second = await services.authentication.totp(user, body.totp, ctx);
        if (!second.ok) throw new UnauthenticatedError(second.message, { reason: second.failure === 'locked' ? 'locked' : 'invalid_totp', field: 'totp' });
        user = second.user;
      }
      await services.authentication.succeed(user, ctx, services.authentication.needsTotp(user) ? 'password+totp' : 'password');
      const { token } = await services.webSessions.create(user, { clientAddress, userAgent: String(req.headers['user-agent'] ?? '') });
      setSessionCookie(req, res, token, services.config.sessionTtlMinutes * 60, services.config.trustProxy);
      const fresh = await services.users.get(user.id);
      return { user: presentUser(fresh), mustChangePassword: fresh.mustChangePassword };
    },
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
    method: 'post', path: '/auth/password', tag: 'auth', access: 'self', duringPasswordChange: true, summary: 'Change your own password (ends your other sessions)', status: 204,
    body: passwordBody,
    handler: async ({ body, auth, actor, services }) => {
      await services.users.changeOwnPassword(actor, auth.user.id, body.oldPassword, body.newPassword, auth.sessionId ?? undefined);
      return undefined;
    },
  }),
];

