import { useMediaQuery } from './useMediaQuery.ts';

/** Below 600 px tables are cards (styles.css): the same breakpoint. */
const PHONE = '(max-width: 600px)';

/** Whether the window is phone-narrow (below 600 px, where tables become cards). */
export function usePhone(): boolean {
  return useMediaQuery(PHONE);
}
