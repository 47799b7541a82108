import { DatePicker } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';

export type DateRange = [Dayjs | null, Dayjs | null] | null;

/** The range as the API's `from` / `to` (ISO instants), each left out when open. */
export function rangeParams(range: DateRange): { from?: string; to?: string } {
  const out: { from?: string; to?: string } = {};
  if (range?.[0]) out.from = range[0].toISOString();
  if (range?.[1]) out.to = range[1].toISOString();
  return out;
}

/** A range given in a link's `from` / `to` (ISO instants), as the dashboard's cards send it. */
export function rangeFromUrl(url: URLSearchParams): DateRange {
  const at = (k: string) => {
    const v = url.get(k);
    const d = v ? dayjs(v) : null;
    return d?.isValid() ? d : null;
  };
  const from = at('from');
  const to = at('to');
  return from || to ? [from, to] : null;
}

/** A date-and-time range with one-click presets: the last 24 hours, 7 days, 30 days. */
export function DateRangeFilter({ value, onChange }: { value: DateRange; onChange: (v: DateRange) => void }) {
  const { t } = useTranslation();
  const last = (n: number, unit: 'hour' | 'day'): [Dayjs, Dayjs] => [dayjs().subtract(n, unit), dayjs().add(1, 'minute')];
  return (
    <DatePicker.RangePicker
      aria-label={t('common.dateRange')}
      showTime={{ format: 'HH:mm' }}
      format="YYYY-MM-DD HH:mm"
      value={value}
      onChange={(v) => onChange(v)}
      presets={[
        { label: t('dateRange.last24h'), value: () => last(24, 'hour') },
        { label: t('dateRange.last7d'), value: () => last(7, 'day') },
        { label: t('dateRange.last30d'), value: () => last(30, 'day') },
      ]}
    />
  );
}
