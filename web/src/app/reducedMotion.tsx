import type { ReactNode } from 'react';
import { Provider as MotionProvider } from '@rc-component/motion';
import { useMediaQuery } from '../components/useMediaQuery.ts';

/**
 * Drawers, dialogs, menus, dropdowns and messages appear and go without sliding or zooming for
 * a user whose system asks for less motion (WCAG 2.3.3). This is antd's own switch (its
 * `motion: false` token), given through rc-motion's provider rather than the theme: a token
 * changes antd's style hashes and the stylesheet rendered at build time would no longer apply
 * (app/theme.ts). Shortening the animations in CSS instead is not an option: antd places a
 * dropdown on the screen in a step of its motion, and with a 1 ms animation that step never
 * came (every dropdown stayed off-screen).
 */
export function MotionPreference({ children }: { children: ReactNode }) {
  const reduced = useMediaQuery('(prefers-reduced-motion: reduce)');
  return <MotionProvider motion={!reduced}>{children}</MotionProvider>;
}
