import { Card, Descriptions, Space, Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import { meService } from '../../services/me.ts';
import { Page } from '../../components/Page.tsx';
import { formatTime } from '../../i18n/format.ts';
import { useMe } from '../session/useSession.ts';
import { PasswordForm } from '../session/PasswordForm.tsx';
import { KeysPanel } from '../keys/KeysPanel.tsx';
import { TotpCard } from './TotpCard.tsx';
import { TokensCard } from './TokensCard.tsx';

/** Every role's own page: account facts, password, SSH keys, two-factor enrolment, API tokens. */
export function ProfilePage() {
  const { t } = useTranslation();
  const me = useMe().data;
  if (!me) return null;
  return (
    <Page title={t('profile.title')}>
      <Space orientation="vertical" size={16} style={{ width: '100%' }}>
        <Card title={t('profile.account')}>
          <Descriptions column={{ xs: 1, md: 2 }} size="small">
            <Descriptions.Item label={t('users.username')}>{me.username}</Descriptions.Item>
            <Descriptions.Item label={t('users.name')}>{me.name || '—'}</Descriptions.Item>
            <Descriptions.Item label={t('users.email')}>{me.email ?? '—'}</Descriptions.Item>
            <Descriptions.Item label={t('users.role')}><Tag>{t(`users.roles.${me.role}`)}</Tag></Descriptions.Item>
            <Descriptions.Item label={t('users.groups')}>{me.groups.map((g) => g.name).join(', ') || '—'}</Descriptions.Item>
            <Descriptions.Item label={t('users.lastLogin')}>{formatTime(me.lastLoginAt)}</Descriptions.Item>
          </Descriptions>
        </Card>
        <Card title={t('profile.changePassword')}>
          <div style={{ maxWidth: 400 }}>
            <PasswordForm onSubmit={(o, n) => meService.changePassword(o, n)} />
          </div>
        </Card>
        <Card title={t('profile.keys')}>
          <KeysPanel queryKey={['me', 'keys']} list={() => meService.keys()} add={(k, n) => meService.addKey(k, n)} remove={(id) => meService.removeKey(id)} />
        </Card>
        <Card title={t('profile.totp')}>
          <TotpCard enabled={me.mfaEnabled} />
        </Card>
        <Card title={t('profile.tokens')}>
          <TokensCard />
        </Card>
      </Space>
    </Page>
  );
}
