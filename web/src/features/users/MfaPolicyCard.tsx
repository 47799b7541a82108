import { App, Card, Checkbox, Flex, Typography } from 'antd';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ROLES } from '../../services/common.ts';
import { meService, type MfaPolicy } from '../../services/me.ts';
import { errorText } from '../../components/apiErrors.ts';

const KEY = ['mfa-policy'] as const;

/** Which roles must log in with MFA: enforced at their next login, on the web and over SSH. */
export function MfaPolicyCard() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const policy = useQuery({ queryKey: KEY, queryFn: meService.mfaPolicy });
  const set = useMutation({
    mutationFn: (patch: Partial<MfaPolicy>) => meService.setMfaPolicy(patch),
    onSuccess: () => { void message.success(t('app.saved')); return qc.invalidateQueries({ queryKey: KEY }); },
    onError: (e) => { void message.error(errorText(e)); },
  });
  return (
    <Card size="small" title={t('mfa.policyTitle')} style={{ marginBottom: 16 }} data-testid="mfa-policy">
      <Typography.Paragraph type="secondary" style={{ marginTop: 0 }}>{t('mfa.policyHint')}</Typography.Paragraph>
      <Flex gap={16} wrap>
        {ROLES.map((r) => (
          <Checkbox key={r} checked={policy.data?.[r] ?? false} disabled={!policy.data || set.isPending} onChange={(e) => set.mutate({ [r]: e.target.checked })}>
            {t(`users.roles.${r}`)}
          </Checkbox>
        ))}
      </Flex>
    </Card>
  );
}
