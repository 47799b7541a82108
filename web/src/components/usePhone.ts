import { useSyncExternalStore } from 'react';

/** Below 600 px tables are cards (styles.css): the same breakpoint. */
const PHONE = '(max-width: 600px)';

function subscribe(onChange: () => void): () => void {
  const mq = window.matchMedia(PHONE);
  mq.addEventListener('change', onChange);
  return () => mq.removeEventListener('change', onChange);
}

/** Whether the window is phone-narrow (below 600 px, where tables become cards). */
export function usePhone(): boolean {
  return useSyncExternalStore(subscribe, () => window.matchMedia(PHONE).matches, () => false);
}
