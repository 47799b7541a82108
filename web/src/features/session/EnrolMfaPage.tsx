import { Navigate, useNavigate } from 'react-router';
import { Alert, Button } from 'antd';
import { useTranslation } from 'react-i18next';
import { homePath } from '../../app/features.tsx';
import { TotpCard } from '../profile/TotpCard.tsx';
import { useMe } from './useSession.ts';
import { usePageTitle } from '../../components/Page.tsx';
import { ForcedStepScreen } from './ForcedStepScreen.tsx';

/** The one page of a session whose role requires MFA before anything else (the API refuses the rest). */
export function EnrolMfaPage() {
  const { t } = useTranslation();
  const me = useMe();
  const navigate = useNavigate();
  usePageTitle(t('mfa.enrolTitle'));
  if (me.isLoading) return null;
  if (!me.data) return <Navigate to="/login" replace />;
  if (me.data.mustChangePassword) return <Navigate to="/change-password" replace />;
  const enrolled = !me.data.mfaEnrolmentRequired;
  return (
    <ForcedStepScreen title={t('mfa.enrolTitle')} cardStyle={{ maxWidth: 640 }}>
      {enrolled ? null : <Alert type="warning" showIcon title={t('mfa.enrolHint')} style={{ marginBottom: 16 }} />}
      <TotpCard enabled={me.data.mfaEnabled} />
      {enrolled ? <Button type="primary" block style={{ marginTop: 16 }} onClick={() => navigate(homePath(me.data!.abilities), { replace: true })}>{t('app.backHome')}</Button> : null}
    </ForcedStepScreen>
  );
}
