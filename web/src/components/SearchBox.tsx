import { Input } from 'antd';
import { useTranslation } from 'react-i18next';

/** The search field of a list page; labelled for assistive technology. */
export function SearchBox({ onSearch, label, width = 260 }: { onSearch: (value: string) => void; label?: string; width?: number }) {
  const { t } = useTranslation();
  return (
    <Input.Search
      aria-label={label ?? t('common.search')}
      placeholder={t('common.searchPlaceholder')}
      allowClear
      onSearch={(v) => onSearch(v.trim())}
      style={{ width }}
    />
  );
}
