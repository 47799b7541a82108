import { useState } from 'react';
import { Alert, App, Button, Flex, Form, Input, Typography } from 'antd';
import { QRCodeSVG } from 'qrcode.react';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { meService, type TotpEnrolment } from '../../services/me.ts';
import { applyFieldError, errorText } from '../../components/apiErrors.ts';
import { ME_KEY } from '../session/useSession.ts';

/** TOTP enrolment: a QR code drawn locally from the otpauth:// URI, then a code to verify before it is enabled. */
export function TotpCard({ enabled }: { enabled: boolean }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const [enrolment, setEnrolment] = useState<TotpEnrolment | null>(null);
  const [form] = Form.useForm<{ code: string }>();

  const start = async () => {
    try { setEnrolment(await meService.startTotp()); } catch (e) { void message.error(errorText(e)); }
  };

  const confirm = async ({ code }: { code: string }) => {
    try {
      await meService.confirmTotp(code.trim());
      setEnrolment(null);
      void message.success(t('profile.totpDone'));
      await qc.invalidateQueries({ queryKey: ME_KEY });
    } catch (e) {
      if (!applyFieldError(form, e)) form.setFields([{ name: 'code', errors: [errorText(e)] }]);
    }
  };

  return (
    <div>
      <Alert type={enabled ? 'success' : 'info'} showIcon title={enabled ? t('profile.totpEnabled') : t('profile.totpDisabled')} style={{ marginBottom: 16 }} data-testid="totp-status" />
      {enrolment ? (
        <Flex gap={24} wrap align="start">
          <div style={{ background: '#fff', padding: 8, border: '1px solid #f0f0f0' }}>
            <QRCodeSVG value={enrolment.uri} size={180} role="img" aria-label="TOTP QR code" />
          </div>
          <div style={{ flex: 1, minWidth: 260 }}>
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
      ) : (
        <Button onClick={() => void start()}>{enabled ? t('profile.totpRestart') : t('profile.totpStart')}</Button>
      )}
    </div>
  );
}
