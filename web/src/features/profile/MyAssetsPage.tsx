import { useState } from 'react';
import { Flex } from 'antd';
import { useTranslation } from 'react-i18next';
import { meService } from '../../services/me.ts';
import { Page } from '../../components/Page.tsx';
import { SearchBox } from '../../components/SearchBox.tsx';
import { GrantedAssetsTable } from './GrantedAssetsTable.tsx';

/** The assets granted to the caller, each with the exact ssh command to reach it through the bastion. */
export function MyAssetsPage() {
  const { t } = useTranslation();
  const [search, setSearch] = useState('');
  return (
    <Page title={t('myAssets.title')}>
      <Flex style={{ marginBottom: 16 }}><SearchBox onSearch={setSearch} /></Flex>
      <GrantedAssetsTable queryKey={['me', 'assets', search]} fetch={() => meService.assets(search || undefined)} withCommand emptyText={search ? t('common.noMatch') : t('myAssets.empty')} />
    </Page>
  );
}
