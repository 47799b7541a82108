import { Button } from 'antd';
import { DownloadOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';

/** A plain link to a CSV export: the browser downloads it with the session cookie (same origin). */
export function CsvExportButton({ href }: { href: string }) {
  const { t } = useTranslation();
  return <Button icon={<DownloadOutlined />} href={href} download data-testid="csv-export">{t('audit.exportCsv')}</Button>;
}
