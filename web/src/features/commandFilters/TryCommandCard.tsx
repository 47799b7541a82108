import { useState } from 'react';
import { Alert, Button, Card, Form, Input, Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import { commandFiltersService, type FilterAction, type Verdict } from '../../services/commandFilters.ts';
import { OneAssetPicker, OneSystemUserPicker, OneUserPicker } from '../../components/pickers.tsx';
import { applyFieldError, errorText } from '../../components/apiErrors.ts';

interface Values {
  user: string | null;
  asset: string | null;
  systemUser: string | null;
  command: string;
}

export const ACTION_COLORS: Record<FilterAction, string> = { deny: 'red', confirm: 'orange', allow: 'green' };

/** Which verdict a command line would get for a user on an asset: try the filters out before an operator meets them. */
export function TryCommandCard() {
  const { t } = useTranslation();
  const [form] = Form.useForm<Values>();
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);

  const check = async () => {
    // Invalid fields show their errors; nothing else to do.
    const v = await form.validateFields().catch(() => null);
    if (!v) return;
    setChecking(true);
    setError(null);
    try {
      setVerdict(await commandFiltersService.check({ user: v.user!, asset: v.asset!, systemUser: v.systemUser ?? null, command: v.command }));
    } catch (e) {
      setVerdict(null);
      if (!applyFieldError(form, e)) setError(errorText(e));
    } finally { setChecking(false); }
  };

  return (
    <Card size="small" title={t('filters.tryTitle')}>
      <Form form={form} name="try-command" layout="vertical" onFinish={check} onValuesChange={() => setVerdict(null)}>
        <Form.Item name="user" label={t('sessions.user')} rules={[{ required: true, message: t('common.required', { field: t('sessions.user') }) }]}><OneUserPicker /></Form.Item>
        <Form.Item name="asset" label={t('sessions.asset')} rules={[{ required: true, message: t('common.required', { field: t('sessions.asset') }) }]}><OneAssetPicker /></Form.Item>
        <Form.Item name="systemUser" label={t('filters.systemUserOptional')}><OneSystemUserPicker /></Form.Item>
        <Form.Item name="command" label={t('sessions.command')} rules={[{ required: true, message: t('common.required', { field: t('sessions.command') }) }]}>
          <Input className="mono" autoComplete="off" spellCheck={false} placeholder="sudo rm -rf /var/log" />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={checking}>{t('filters.check')}</Button>
      </Form>
      {error ? <Alert type="error" showIcon title={error} style={{ marginTop: 12 }} /> : null}
      {verdict ? (
        <Alert
          style={{ marginTop: 12 }}
          role="status"
          data-testid="filter-verdict"
          type={verdict.action === 'allow' ? 'success' : verdict.action === 'confirm' ? 'warning' : 'error'}
          title={<><Tag color={ACTION_COLORS[verdict.action]}>{t(`filters.actions.${verdict.action}`)}</Tag>{verdict.filter ? t('filters.byFilter', { name: verdict.filter.name }) : t('filters.noFilter')}</>}
        />
      ) : null}
    </Card>
  );
}
