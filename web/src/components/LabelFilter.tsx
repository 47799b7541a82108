import { Select } from 'antd';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { bulkService } from '../services/bulk.ts';

/**
 * Labels (`key:value`) to filter a list by: every chosen label must be carried. Offers the labels
 * in use (GET /labels, admins) unless `options` are given (e.g. the labels of one's own assets);
 * any `key:value` can also be typed.
 */
export function LabelFilter({ value, onChange, options }: { value: string[]; onChange: (v: string[]) => void; options?: string[] }) {
  const { t } = useTranslation();
  const known = useQuery({ queryKey: ['labels'], queryFn: () => bulkService.labels(), enabled: !options, staleTime: 30_000 });
  const choices = options ?? (known.data ?? []).map((l) => l.label);
  return (
    <Select
      mode="tags"
      aria-label={t('labels.filter')}
      placeholder={t('labels.filter')}
      allowClear
      style={{ minWidth: 200 }}
      value={value}
      onChange={(v: string[]) => onChange(v.map((s) => s.trim()).filter(Boolean))}
      tokenSeparators={[',', ' ']}
      options={choices.map((l) => ({ value: l, label: l }))}
      data-testid="label-filter"
    />
  );
}
