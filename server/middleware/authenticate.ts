import { parse as parseCookie } from 'cookie';
import type { Request } from 'express';
import type { Services } from '../../core/services.ts';
import type { User } from '../../core/db/entities/index.ts';

export const SESSION_COOKIE = 'bastion_session';

export interface AuthContext {
  user: User;
  via: 'cookie' | 'token';
  sessionId: string | null;
}

/** Resolves the caller from the session cookie or a bearer token; null when neither is valid. */
export async function authenticateRequest(services: Services, req: Request): Promise<AuthContext | null> {
  const header = req.headers.authorization;
  let ctx: AuthContext | null = null;
  if (header) {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) return null;
    const user = await services.apiTokens.resolve(m[1]!);
    if (user) ctx = { user, via: 'token', sessionId: null };
  } else {
    const token = parseCookie(req.headers.cookie ?? '')[SESSION_COOKIE];
    if (token) {
      const found = await services.webSessions.resolve(token);
      if (found) ctx = { user: found.user, via: 'cookie', sessionId: found.session.id };
    }
  }
  if (!ctx) return null;
  // A user disabled, expired or locked since the session began is out at once.
  if (services.authentication.refusal(ctx.user)) return null;
  return ctx;
}
