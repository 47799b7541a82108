import { useState } from 'react';
import { Alert, App, Button, Flex, Form, Input, Modal, Typography } from 'antd';
import { QRCodeSVG } from 'qrcode.react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { meService, type TotpEnrolment } from '../../services/me.ts';
import { applyFieldError, errorText } from '../../components/apiErrors.ts';
import { ME_KEY } from '../session/useSession.ts';

const MFA_KEY = ['me', 'mfa'] as const;

/** The ten recovery codes, shown once, until the user says they are saved. */
function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const { t } = useTranslation();
  return (
    <div data-testid="recovery-codes">
      <Typography.Title level={2} style={{ fontSize: 16 }}>{t('mfa.recoveryTitle')}</Typography.Title>
      <Alert type="warning" showIcon title={t('mfa.recoveryHint')} style={{ marginBottom: 12 }} />
      <Typography.Paragraph copyable={{ text: codes.join('\n') }}>
        <ul className="mono recovery-list">{codes.map((c) => <li key={c}>{c}</li>)}</ul>
      </Typography.Paragraph>
      <Button type="primary" onClick={onDone}>{t('mfa.recoveryDone')}</Button>
    </div>
  );
}

/** Asks the password again, then runs `act` with it (turn MFA off, renew recovery codes). */
function PasswordAgain({ title, hint, ok, onCancel, act }: { title: string; hint: string; ok: string; onCancel: () => void; act: (password: string) => Promise<void> }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ password: string }>();
  const submit = async () => {
    const v = await form.validateFields().catch(() => null);
    if (!v) return;
    try { await act(v.password); } catch (e) {
      if (!applyFieldError(form, e)) form.setFields([{ name: 'password', errors: [errorText(e)] }]);
    }
  };
  return (
    <Modal open title={title} onCancel={onCancel} onOk={() => void submit()} okText={ok} cancelText={t('common.cancel')} destroyOnHidden>
      <Typography.Paragraph>{hint}</Typography.Paragraph>
      <Form form={form} name="password-again" layout="vertical" onFinish={() => void submit()}>
        <Form.Item name="password" label={t('mfa.passwordAgain')} rules={[{ required: true, message: t('common.required', { field: t('mfa.passwordAgain') }) }]}>
          <Input.Password autoComplete="current-password" autoFocus />
        </Form.Item>
      </Form>
    </Modal>
  );
}

/** TOTP enrolment (QR drawn locally from the otpauth:// URI, then a code), recovery codes, and turning it off. */
export function TotpCard({ enabled }: { enabled: boolean }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const status = useQuery({ queryKey: MFA_KEY, queryFn: meService.mfa });
  const [enrolment, setEnrolment] = useState<TotpEnrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [asking, setAsking] = useState<'disable' | 'renew' | null>(null);
  const [form] = Form.useForm<{ code: string }>();
  const refresh = () => Promise.all([qc.invalidateQueries({ queryKey: ME_KEY }), qc.invalidateQueries({ queryKey: MFA_KEY })]);

  const start = async () => {
    try { setEnrolment(await meService.startTotp()); } catch (e) { void message.error(errorText(e)); }
  };

  const confirm = async ({ code }: { code: string }) => {
    try {
      setCodes(await meService.confirmTotp(code.trim()));
      setEnrolment(null);
      void message.success(t('profile.totpDone'));
      await qc.invalidateQueries({ queryKey: MFA_KEY });
    } catch (e) {
      if (!applyFieldError(form, e)) form.setFields([{ name: 'code', errors: [errorText(e)] }]);
    }
  };

  if (codes) return <RecoveryCodes codes={codes} onDone={() => { setCodes(null); void refresh(); }} />;

  return (
    <div>
      <Alert type={enabled ? 'success' : 'info'} showIcon title={enabled ? t('profile.totpEnabled') : t('profile.totpDisabled')} style={{ marginBottom: 16 }} data-testid="totp-status"
        description={[status.data?.requiredByRole ? t('mfa.requiredByRole') : null, enabled && status.data ? t('mfa.recoveryLeft', { count: status.data.recoveryCodesLeft }) : null].filter(Boolean).join(' ') || undefined} />
      {enrolment ? (
        <Flex gap={24} wrap align="start">
          <div style={{ background: '#fff', padding: 8, border: '1px solid #f0f0f0' }}>
            <QRCodeSVG value={enrolment.uri} size={180} role="img" aria-label={t('mfa.qrCode')} />
          </div>
          <div style={{ flex: 1, minWidth: 240 }}>
            <Typography.Paragraph>{t('profile.totpScan')}</Typography.Paragraph>
            <Typography.Paragraph>
              {t('profile.totpSecret')}: <Typography.Text code copyable className="mono" data-testid="totp-secret">{enrolment.secret}</Typography.Text>
            </Typography.Paragraph>
            <Form form={form} name="totp" layout="vertical" onFinish={confirm}>
              <Form.Item name="code" label={t('profile.totpCode')} rules={[{ required: true, message: t('common.required', { field: t('profile.totpCode') }) }]}>
                <Input inputMode="numeric" autoComplete="one-time-code" maxLength={8} style={{ width: 160 }} />
              </Form.Item>
              <Button type="primary" htmlType="submit">{t('profile.totpConfirm')}</Button>
              <Button style={{ marginLeft: 8 }} onClick={() => setEnrolment(null)}>{t('common.cancel')}</Button>
            </Form>
          </div>
        </Flex>
      ) : enabled ? (
        <Flex gap={8} wrap>
          <Button onClick={() => setAsking('renew')}>{t('mfa.recoveryRenew')}</Button>
          {status.data?.requiredByRole ? null : <Button danger onClick={() => setAsking('disable')}>{t('mfa.disable')}</Button>}
        </Flex>
      ) : (
        <Button onClick={() => void start()}>{t('profile.totpStart')}</Button>
      )}
      {asking === 'disable' ? (
        <PasswordAgain title={t('mfa.disableTitle')} hint={t('mfa.disableHint')} ok={t('mfa.disable')} onCancel={() => setAsking(null)}
          act={async (password) => { await meService.disableTotp(password); setAsking(null); void message.success(t('mfa.disabled')); await refresh(); }} />
      ) : null}
      {asking === 'renew' ? (
        <PasswordAgain title={t('mfa.recoveryRenew')} hint={t('mfa.recoveryHint')} ok={t('mfa.recoveryRenew')} onCancel={() => setAsking(null)}
          act={async (password) => { setCodes(await meService.renewRecoveryCodes(password)); setAsking(null); }} />
      ) : null}
    </div>
  );
}
