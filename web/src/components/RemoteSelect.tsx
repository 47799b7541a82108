import { useMemo, useState } from 'react';
import { Select, Spin } from 'antd';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';

export interface Option {
  value: string;
  label: string;
}

interface Props {
  id?: string;
  value?: string[] | string | null;
  onChange?: (value: string[] | string | null) => void;
  /** A stable key for the query cache, e.g. 'users'. */
  resource: string;
  fetch: (search: string) => Promise<Option[]>;
  /** Labels for values already chosen (e.g. the refs of the edited row), so they show before a search. */
  known?: Option[];
  multiple?: boolean;
  allowClear?: boolean;
  placeholder?: string;
  'aria-label'?: string;
}

/** A Select whose options come from an API list searched on the server. */
export function RemoteSelect({ id, value, onChange, resource, fetch, known = [], multiple = false, allowClear = true, placeholder, ...rest }: Props) {
  const { t } = useTranslation();
  const [search, setSearch] = useState('');
  const q = useQuery({ queryKey: ['picker', resource, search], queryFn: () => fetch(search), staleTime: 10_000 });
  const options = useMemo(() => {
    const seen = new Map<string, Option>();
    for (const o of known) seen.set(o.value, o);
    for (const o of q.data ?? []) seen.set(o.value, o);
    return [...seen.values()];
  }, [known, q.data]);
  return (
    <Select
      id={id}
      mode={multiple ? 'multiple' : undefined}
      value={value ?? (multiple ? [] : undefined)}
      onChange={(v) => onChange?.((v ?? null) as string[] | string | null)}
      options={options}
      showSearch={{ filterOption: false, onSearch: setSearch }}
      onBlur={() => setSearch('')}
      allowClear={allowClear}
      placeholder={placeholder}
      notFoundContent={q.isFetching ? <Spin size="small" /> : t('common.noMatch')}
      aria-label={rest['aria-label']}
      style={{ width: '100%' }}
    />
  );
}
