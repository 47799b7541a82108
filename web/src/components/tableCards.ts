import { useEffect, type RefObject } from 'react';

/**
 * Below 600 px every table is drawn as cards (styles.css): each cell then shows its column's
 * title before the value. The titles come from the table's own header, copied into `data-label`
 * whenever the tables under `root` change — so no page has to declare its columns twice.
 * The same pass makes antd's measuring row inert.
 */
export function useTableCardLabels(root: RefObject<HTMLElement | null>): void {
  useEffect(() => {
    const el = root.current;
    if (!el) return;
    let queued = false;
    const label = () => {
      queued = false;
      for (const table of el.querySelectorAll('table')) {
        // antd's hidden row that measures fixed columns is aria-hidden yet holds focusable copies
        // of the header cells: inert takes them out of the keyboard order too (axe aria-hidden-focus).
        for (const row of table.querySelectorAll(':scope > tbody > tr.ant-table-measure-row')) if (!row.hasAttribute('inert')) row.setAttribute('inert', '');
        const heads = [...table.querySelectorAll(':scope > thead > tr:last-child > th')].map((th) => th.textContent?.trim() ?? '');
        if (heads.length === 0) continue;
        for (const row of table.querySelectorAll(':scope > tbody > tr.ant-table-row')) {
          [...row.children].forEach((td, i) => {
            const text = heads[i] ?? '';
            if (td.getAttribute('data-label') !== text) td.setAttribute('data-label', text);
          });
        }
      }
    };
    const observer = new MutationObserver(() => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(label);
    });
    observer.observe(el, { childList: true, subtree: true });
    label();
    return () => observer.disconnect();
  }, [root]);
}
