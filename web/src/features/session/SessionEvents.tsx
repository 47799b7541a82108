import { useEffect } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { App } from 'antd';
import { useTranslation } from 'react-i18next';
import { onApiError } from '../../services/api.ts';
import { ME_KEY } from './useSession.ts';

/** Turns API answers about the session into navigation: 401 → login, forced password change → that page. */
export function SessionEvents() {
  const navigate = useNavigate();
  const location = useLocation();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const { t } = useTranslation();

  useEffect(() => onApiError((error, path) => {
    if (path.startsWith('/auth/login') || path.startsWith('/auth/password')) return;
    if (error.status === 401) {
      const hadSession = qc.getQueryData(ME_KEY) != null;
      qc.clear();
      qc.setQueryData(ME_KEY, null);
      if (location.pathname !== '/login') {
        if (hadSession) void message.warning(t('app.sessionExpired'));
        const next = location.pathname + location.search;
        navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true });
      }
    } else if (error.status === 403 && error.reason === 'password_change_required') {
      void qc.invalidateQueries({ queryKey: ME_KEY });
      navigate('/change-password', { replace: true });
    }
  }), [navigate, location, qc, message, t]);

  return null;
}
