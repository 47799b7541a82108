import { useState } from 'react';
import { Navigate, useNavigate } from 'react-router';
import { Alert, Spin } from 'antd';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { meService } from '../../services/me.ts';
import { homePath } from '../../app/features.tsx';
import { ME_KEY, useMe } from './useSession.ts';
import { PasswordForm } from './PasswordForm.tsx';
import { usePageTitle } from '../../components/Page.tsx';
import { ForcedStepScreen } from './ForcedStepScreen.tsx';

/** Shown right after login when the account must choose a new password (e.g. admin/admin on first start). */
export function ChangePasswordPage() {
  const { t } = useTranslation();
  usePageTitle(t('password.title'));
  const navigate = useNavigate();
  const qc = useQueryClient();
  const me = useMe();
  const [done, setDone] = useState(false);

  if (me.isLoading) return <Spin size="large" style={{ display: 'block', marginTop: '20vh' }} />;
  if (!me.data) return <Navigate to="/login" replace />;
  if (!me.data.mustChangePassword && !done) return <Navigate to="/" replace />;

  return (
    <ForcedStepScreen title={t('password.title')}>
      <Alert type="warning" showIcon title={t('password.forcedHint')} style={{ marginBottom: 16 }} />
      <PasswordForm
        onSubmit={async (oldPassword, newPassword) => {
          await meService.changePassword(oldPassword, newPassword);
          setDone(true);
          const fresh = await meService.me();
          qc.setQueryData(ME_KEY, fresh);
          navigate(homePath(fresh.abilities), { replace: true });
        }}
      />
    </ForcedStepScreen>
  );
}
