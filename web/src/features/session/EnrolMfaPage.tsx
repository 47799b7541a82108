import { Navigate, useNavigate } from 'react-router';
import { Alert, Button, Card, Typography } from 'antd';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { meService } from '../../services/me.ts';
import { homePath } from '../../app/features.tsx';
import { TotpCard } from '../profile/TotpCard.tsx';
import { ME_KEY, useMe } from './useSession.ts';
import { usePageTitle } from '../../components/Page.tsx';

/** The one page of a session whose role requires MFA before anything else (the API refuses the rest). */
export function EnrolMfaPage() {
  const { t } = useTranslation();
  const me = useMe();
  const qc = useQueryClient();
  const navigate = useNavigate();
  usePageTitle(t('mfa.enrolTitle'));
  if (me.isLoading) return null;
  if (!me.data) return <Navigate to="/login" replace />;
  if (me.data.mustChangePassword) return <Navigate to="/change-password" replace />;
  const enrolled = !me.data.mfaEnrolmentRequired;
  return (
    <div className="login-screen">
      <main id="main" tabIndex={-1}>
        <Card className="login-card" style={{ maxWidth: 640 }}>
          <Typography.Title level={1} style={{ marginTop: 0, fontSize: 22 }}>{t('mfa.enrolTitle')}</Typography.Title>
          {enrolled ? null : <Alert type="warning" showIcon title={t('mfa.enrolHint')} style={{ marginBottom: 16 }} />}
          <TotpCard enabled={me.data.mfaEnabled} />
          {enrolled ? <Button type="primary" block style={{ marginTop: 16 }} onClick={() => navigate(homePath(me.data!.abilities), { replace: true })}>{t('app.backHome')}</Button> : null}
          <Button type="link" block style={{ marginTop: 8 }} onClick={async () => { await meService.logout().catch(() => undefined); qc.clear(); qc.setQueryData(ME_KEY, null); navigate('/login', { replace: true }); }}>
            {t('app.logout')}
          </Button>
        </Card>
      </main>
    </div>
  );
}
