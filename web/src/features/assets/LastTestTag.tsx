import { Tag, Tooltip } from 'antd';
import { useTranslation } from 'react-i18next';
import type { Asset } from '../../services/assets.ts';
import { formatTime } from '../../i18n/format.ts';

/** The last connectivity test of an asset: reachable or not, when, and why. */
export function LastTestTag({ test }: { test: Asset['lastTest'] }) {
  const { t } = useTranslation();
  if (!test) return <Tag>{t('assets.neverTested')}</Tag>;
  return (
    <Tooltip title={`${formatTime(test.at)} — ${test.message}`}>
      <Tag color={test.ok ? 'green' : 'red'} data-testid="last-test">{test.ok ? t('assets.testOk') : t('assets.testFailed')}</Tag>
    </Tooltip>
  );
}
