/**
 * Focus goes back to what opened a dialog when the dialog closes (WCAG 2.4.3).
 *
 * antd's Modal and Drawer restore focus themselves only when they stay mounted through their
 * closing animation, and only to the element focused when they opened. Our pages unmount their
 * dialogs at once (`{editing ? <Modal open/> : null}`), and many dialogs are opened from a menu
 * item that is gone by then: focus fell to <body>, and a keyboard user started over from the top.
 *
 * So one watcher for the whole app: it remembers the elements that had focus, and when the
 * focused element was inside an overlay (dialog, drawer, menu, confirmation) and then disappears
 * (removed or hidden) leaving focus on <body>, it focuses the latest remembered element that is
 * still on screen — the button that opened the dialog, or the "more" button of a menu item.
 */
const OVERLAY = '.ant-modal-wrap, .ant-modal-root, .ant-drawer, .ant-dropdown, .ant-dropdown-menu, .ant-popover, .ant-popconfirm, .ant-select-dropdown, .ant-picker-dropdown';
const KEEP = 20;

function usable(el: HTMLElement): boolean {
  return el.isConnected && el.getClientRects().length > 0 && !el.closest('[inert], [aria-hidden="true"]') && !(el as HTMLButtonElement).disabled;
}

export function installFocusReturn(doc: Document = document): () => void {
  const history: HTMLElement[] = [];
  let lastInOverlay = false;

  const onFocusIn = (e: FocusEvent) => {
    const el = e.target;
    if (!(el instanceof HTMLElement) || el === doc.body) return;
    lastInOverlay = !!el.closest(OVERLAY);
    const at = history.indexOf(el);
    if (at >= 0) history.splice(at, 1);
    history.push(el);
    if (history.length > KEEP) history.shift();
  };

  const restore = () => {
    // Only a dialog (or menu) that vanished under the focus: a click on empty page space also
    // leaves focus on <body>, but from page content, and where it goes then is the user's choice.
    if (!lastInOverlay) return;
    const active = doc.activeElement;
    if (active instanceof HTMLElement && active !== doc.body && usable(active)) return;
    const last = history[history.length - 1];
    if (last && usable(last)) return;
    for (let i = history.length - 2; i >= 0; i--) {
      const el = history[i]!;
      if (!usable(el)) continue;
      lastInOverlay = !!el.closest(OVERLAY);
      el.focus({ preventScroll: true });
      return;
    }
  };

  doc.addEventListener('focusin', onFocusIn, true);
  // A closing dialog is removed or hidden; either is a mutation under <body>.
  const observer = new MutationObserver(restore);
  observer.observe(doc.body, { childList: true, subtree: true, attributes: true, attributeFilter: ['style', 'class'] });
  return () => {
    doc.removeEventListener('focusin', onFocusIn, true);
    observer.disconnect();
  };
}
