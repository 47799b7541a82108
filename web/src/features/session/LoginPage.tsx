import { useState } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { Alert, Button, Flex, Form, Input, Typography } from 'antd';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../../services/api.ts';
import { meService } from '../../services/me.ts';
import { LANGUAGES, currentLanguage, setLanguage, type Language } from '../../i18n/index.ts';
import { homePath } from '../../app/features.tsx';
import { ME_KEY, useMe } from './useSession.ts';
import { errorText } from '../../components/apiErrors.ts';
import { usePageTitle } from '../../components/Page.tsx';

interface Credentials {
  username: string;
  password: string;
}

/** A path inside this app, never an absolute URL (no open redirect through ?next=). */
function safeNext(next: string | null): string | null {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : null;
}

export function LoginPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const qc = useQueryClient();
  const me = useMe();
  const [form] = Form.useForm<Credentials & { totp?: string }>();
  const [pending, setPending] = useState<Credentials | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  usePageTitle(t('login.title'));

  if (me.data && !busy) return <Navigate to={me.data.mustChangePassword ? '/change-password' : me.data.mfaEnrolmentRequired ? '/enrol-mfa' : safeNext(params.get('next')) ?? homePath(me.data.abilities)} replace />;

  const submit = async (values: Credentials & { totp?: string }) => {
    setError(null);
    setBusy(true);
    const creds = pending ?? { username: values.username.trim(), password: values.password };
    try {
      const result = await meService.login(creds.username, creds.password, pending ? values.totp?.trim() : undefined);
      const fresh = await meService.me();
      qc.setQueryData(ME_KEY, fresh);
      if (result.mustChangePassword) navigate('/change-password', { replace: true });
      else if (fresh.mfaEnrolmentRequired) navigate('/enrol-mfa', { replace: true });
      else navigate(safeNext(params.get('next')) ?? homePath(fresh.abilities), { replace: true });
    } catch (e) {
      setBusy(false);
      if (!(e instanceof ApiError)) { setError(String(e)); return; }
      if (e.reason === 'totp_required') {
        setPending(creds);
        form.setFieldValue('totp', '');
        return;
      }
      if (e.reason === 'invalid_totp' || e.reason === 'totp_reused') {
        form.setFields([{ name: 'totp', errors: [e.reason === 'totp_reused' ? t('errors.reasons.totp_reused') : t('login.invalidTotp')] }]);
        return;
      }
      // A locked account reads like a wrong password (rule 9); only the address's rate is told.
      if (e.code === 'rate_limited') {
        setPending(null);
        setError(t('login.rateLimited'));
        return;
      }
      if (e.reason === 'invalid_credentials') {
        setPending(null);
        setError(t('login.invalidCredentials'));
        return;
      }
      setError(errorText(e));
    }
  };

  return (
    <div className="login-screen">
      <main>
        {/* A plain box and the browser's own <select>: antd's Card brings Tabs and its Select a virtual
            list, some 80 kB of script the first paint of the login page would wait for (issue 15). */}
        <section className="login-card login-box">
          <Flex justify="space-between" align="center" style={{ marginBottom: 16 }}>
            <Typography.Title level={1} style={{ margin: 0, fontSize: 22 }}>{t('login.title')}</Typography.Title>
            <select aria-label={t('app.language')} className="language-select" value={currentLanguage()} onChange={(e) => setLanguage(e.target.value as Language)}>
              {LANGUAGES.map((l) => <option key={l.value} value={l.value}>{l.label}</option>)}
            </select>
          </Flex>
          {params.has('expired') ? <Alert type="info" showIcon title={t('app.sessionExpired')} style={{ marginBottom: 16 }} /> : null}
          {error ? <Alert type="error" showIcon title={error} role="alert" style={{ marginBottom: 16 }} /> : null}
          <Form form={form} name="login" layout="vertical" onFinish={submit} requiredMark={false} disabled={busy}>
            {pending ? (
              <>
                <Typography.Paragraph>{t('mfa.totpOrRecovery')}</Typography.Paragraph>
                <Form.Item name="totp" label={t('login.totp')} rules={[{ required: true, message: t('common.required', { field: t('login.totp') }) }]}>
                  <Input autoFocus autoComplete="one-time-code" maxLength={16} />
                </Form.Item>
                <Button type="primary" htmlType="submit" block loading={busy}>{t('login.verify')}</Button>
                <Button type="link" block onClick={() => { setPending(null); form.resetFields(); }} style={{ marginTop: 8 }}>{t('login.back')}</Button>
              </>
            ) : (
              <>
                <Form.Item name="username" label={t('login.username')} rules={[{ required: true, message: t('common.required', { field: t('login.username') }) }]}>
                  <Input autoFocus autoComplete="username" />
                </Form.Item>
                <Form.Item name="password" label={t('login.password')} rules={[{ required: true, message: t('common.required', { field: t('login.password') }) }]}>
                  <Input.Password autoComplete="current-password" />
                </Form.Item>
                <Button type="primary" htmlType="submit" block loading={busy}>{t('login.submit')}</Button>
              </>
            )}
          </Form>
        </section>
      </main>
    </div>
  );
}
