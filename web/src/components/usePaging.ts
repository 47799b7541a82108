import { useState } from 'react';
import type { TablePaginationConfig } from 'antd';
import { useTranslation } from 'react-i18next';

/** Server-side paging and search state for a list, as `limit`/`offset`/`search` and antd pagination props. */
export function usePaging(defaultPageSize = 20) {
  const { t } = useTranslation();
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(defaultPageSize);
  const [search, setSearchState] = useState('');
  const setSearch = (s: string) => { setSearchState(s); setPage(1); };
  const params = { search: search || undefined, limit: pageSize, offset: (page - 1) * pageSize };
  const pagination = (total: number | undefined): TablePaginationConfig => ({
    current: page,
    pageSize,
    total: total ?? 0,
    showSizeChanger: true,
    showTotal: (n) => t('common.total', { total: n }),
    onChange: (p, s) => { setPage(s !== pageSize ? 1 : p); setPageSize(s); },
  });
  return { params, search, setSearch, pagination, resetPage: () => setPage(1) };
}
