import { Link } from 'react-router';
import { Button, Dropdown } from 'antd';
import { CodeOutlined, DownOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { meService } from '../../services/me.ts';
import type { GrantedAsset } from '../../services/grants.ts';
import { terminalPath } from './terminalRoute.ts';

/**
 * Connect (web terminal) for one granted asset: one button when one system user may connect,
 * a menu of them when several; nothing when none may (no grant, no button).
 */
export function ConnectButton({ asset }: { asset: GrantedAsset }) {
  const { t } = useTranslation();
  const sus = asset.systemUsers.filter((s) => s.actions.includes('connect'));
  if (sus.length === 0) return null;
  if (sus.length === 1) {
    return (
      <Link to={terminalPath(asset.name, sus[0]!.username)} data-testid="connect">
        <Button icon={<CodeOutlined />}>{t('terminal.connect')}</Button>
      </Link>
    );
  }
  return (
    <Dropdown menu={{ items: sus.map((s) => ({ key: s.id, label: <Link to={terminalPath(asset.name, s.username)}>{t('terminal.connectAs', { systemUser: s.username })}</Link> })) }}>
      <Button icon={<CodeOutlined />} data-testid="connect">{t('terminal.connect')} <DownOutlined /></Button>
    </Dropdown>
  );
}

/** Connect on the admin's asset page: shown only when the viewer has a grant to connect there (core/access, via GET /me/assets). */
export function ConnectIfGranted({ assetId, assetName }: { assetId: string; assetName: string }) {
  const mine = useQuery({ queryKey: ['me', 'assets', 'connect', assetName], queryFn: () => meService.assets(assetName) });
  const granted = mine.data?.items.find((a) => a.id === assetId);
  return granted ? <ConnectButton asset={granted} /> : null;
}
