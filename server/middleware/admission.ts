// The one gate every authenticated request and websocket of the web face passes after
// authentication: a user who must change their password, or whose role requires MFA and who
// has none set up, may use only the routes that let them do that; then the role must have the
// ability (core/access). Routes (define.ts) and websocket upgrades and their re-checks
// (ws/socketAuthority.ts) ask this, so a socket can never skip what a route enforces.
import type { Services } from '../../core/services.ts';
import type { Ability } from '../../core/access/accessService.ts';
import { ForbiddenError } from '../../core/errors.ts';
import type { AuthContext } from './authenticate.ts';

export interface AdmissionNeeds {
  access: Ability;
  /** A user who must change their password may still do this. */
  duringPasswordChange?: boolean | undefined;
  /** A user whose role requires MFA and who has none set up may still do this (to enrol). */
  duringMfaEnrolment?: boolean | undefined;
}

/** Why the authenticated caller may not do this now, or null when they may. */
export async function admissionRefusal(services: Services, auth: AuthContext, needs: AdmissionNeeds): Promise<ForbiddenError | null> {
  if (auth.user.mustChangePassword && !needs.duringPasswordChange) return new ForbiddenError('you must change your password first', { reason: 'password_change_required' });
  if (!needs.duringMfaEnrolment && await services.mfaPolicy.enrolmentRequired(auth.user)) {
    return new ForbiddenError('your role requires two-factor authentication: set it up first', { reason: 'mfa_enrolment_required' });
  }
  if (!services.access.roleCan(auth.user.role, needs.access)) return new ForbiddenError('your role does not allow this', { reason: 'role_forbidden' });
  return null;
}
