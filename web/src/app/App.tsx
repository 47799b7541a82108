import { lazy, Suspense } from 'react';
import { Navigate, Route, Routes, useLocation, useParams } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { Button, Result, Spin } from 'antd';
import { useTranslation } from 'react-i18next';
import { LoginPage } from '../features/session/LoginPage.tsx';
import { SessionEvents } from '../features/session/SessionEvents.tsx';
import { useMe } from '../features/session/useSession.ts';
import type { Me } from '../services/me.ts';
import { FEATURES, homePath, prefetchQueries, type Feature } from './features.tsx';
import { errorText } from '../components/apiErrors.ts';

// First paint of the login page (issue 15): the frame of the logged-in app (menu, drawer, bell)
// and the rare password-change and MFA-enrolment pages (QR code) are chunks of their own, asked
// for at once on any other URL so that a deep link does not wait for them after /me.
const loadLayout = () => import('./AppLayout.tsx');
if (!window.location.pathname.startsWith('/login')) void loadLayout();
const AppLayout = lazy(() => loadLayout().then((m) => ({ default: m.AppLayout })));
const ChangePasswordPage = lazy(() => import('../features/session/ChangePasswordPage.tsx').then((m) => ({ default: m.ChangePasswordPage })));
const EnrolMfaPage = lazy(() => import('../features/session/EnrolMfaPage.tsx').then((m) => ({ default: m.EnrolMfaPage })));

function FullPageSpinner() {
  return <Spin size="large" style={{ display: 'block', marginTop: '20vh' }} />;
}

/** Renders its children only for a logged-in user who has no pending password change. */
function RequireSession({ children }: { children: (me: Me) => React.ReactNode }) {
  const me = useMe();
  const location = useLocation();
  if (me.isLoading) return <FullPageSpinner />;
  if (me.isError) return <Result status="error" title={errorText(me.error)} />;
  if (!me.data) return <Navigate to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  if (me.data.mustChangePassword) return <Navigate to="/change-password" replace />;
  if (me.data.mfaEnrolmentRequired) return <Navigate to="/enrol-mfa" replace />;
  return <>{children(me.data)}</>;
}

function Forbidden() {
  const { t } = useTranslation();
  return <Result status="403" title="403" subTitle={t('app.forbidden')} extra={<Button href="/">{t('app.backHome')}</Button>} />;
}

function NotFound() {
  const { t } = useTranslation();
  return <Result status="404" title="404" subTitle={t('app.notFound')} extra={<Button href="/">{t('app.backHome')}</Button>} />;
}

export function App() {
  return (
    <>
      <SessionEvents />
      <Routes>
        <Route path="/login" element={<LoginPage />} />
        <Route path="/change-password" element={<Suspense fallback={<FullPageSpinner />}><ChangePasswordPage /></Suspense>} />
        <Route path="/enrol-mfa" element={<Suspense fallback={<FullPageSpinner />}><EnrolMfaPage /></Suspense>} />
        <Route
          path="/*"
          element={<RequireSession>{(me) => <AppRoutes me={me} />}</RequireSession>}
        />
      </Routes>
    </>
  );
}

/** A page, with its queries started before its chunk has loaded. */
function RoutePage({ feature }: { feature: Feature }) {
  const params = useParams();
  const client = useQueryClient();
  prefetchQueries(feature, params, client);
  return <feature.Component />;
}

function AppRoutes({ me }: { me: Me }) {
  return (
    <Routes>
      <Route element={<Suspense fallback={<FullPageSpinner />}><AppLayout me={me} /></Suspense>}>
        <Route index element={<Navigate to={homePath(me.abilities)} replace />} />
        {FEATURES.map((f) => (
          <Route key={f.key} path={f.path} element={f.hasAccess(me.abilities) ? <RoutePage feature={f} /> : <Forbidden />} />
        ))}
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
