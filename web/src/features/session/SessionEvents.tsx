import { useEffect } from 'react';
import { useNavigate } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { onApiError } from '../../services/api.ts';
import { ME_KEY } from './useSession.ts';

/** Turns API answers about the session into navigation: 401 → login, forced password change → that page. */
export function SessionEvents() {
  const navigate = useNavigate();
  const qc = useQueryClient();

  useEffect(() => onApiError((error, path) => {
    if (path.startsWith('/auth/login') || path.startsWith('/auth/password')) return;
    // Several queries may fail together: read the live URL, so only the first one navigates.
    const here = window.location.pathname;
    if (error.status === 401) {
      const hadSession = qc.getQueryData(ME_KEY) != null;
      qc.clear();
      qc.setQueryData(ME_KEY, null);
      if (here !== '/login') {
        const next = here + window.location.search;
        navigate(`/login?next=${encodeURIComponent(next)}${hadSession ? '&expired=1' : ''}`, { replace: true });
      }
    } else if (error.status === 403 && error.reason === 'password_change_required' && here !== '/change-password') {
      void qc.invalidateQueries({ queryKey: ME_KEY });
      navigate('/change-password', { replace: true });
    } else if (error.status === 403 && error.reason === 'mfa_enrolment_required' && here !== '/enrol-mfa') {
      void qc.invalidateQueries({ queryKey: ME_KEY });
      navigate('/enrol-mfa', { replace: true });
    }
  }), [navigate, qc]);

  return null;
}
