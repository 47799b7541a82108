import { useState } from 'react';
import type { TableRowSelection } from 'antd/es/table/interface';

/**
 * Rows chosen in a table for a bulk action, kept across pages and filters (by id, with a name
 * for the outcome list) until cleared.
 */
export function useRowSelection<T extends { id: string }>(nameOf: (row: T) => string) {
  const [chosen, setChosen] = useState<Map<string, string>>(new Map());
  const rowSelection: TableRowSelection<T> = {
    selectedRowKeys: [...chosen.keys()],
    preserveSelectedRowKeys: true,
    onChange: (keys, rows) => {
      setChosen((prev) => {
        const next = new Map<string, string>();
        for (const k of keys) {
          const id = String(k);
          const row = rows.find((r) => r?.id === id);
          next.set(id, row ? nameOf(row) : prev.get(id) ?? id);
        }
        return next;
      });
    },
  };
  return {
    rowSelection,
    selected: [...chosen].map(([id, name]) => ({ id, name })),
    clear: () => setChosen(new Map()),
  };
}
