import type { ReactNode } from 'react';
import type { NavigateFunction } from 'react-router';

/**
 * A link for content rendered outside the router (antd message and notification holders):
 * router's <Link> would throw there, so the page hands in its own navigate function.
 */
export function RouterlessLink({ to, navigate, children }: { to: string; navigate: NavigateFunction; children: ReactNode }) {
  return <a href={to} onClick={(e) => { e.preventDefault(); void navigate(to); }}>{children}</a>;
}
