import type { ConfigProviderProps } from 'antd';

/**
 * The ConfigProvider settings of the whole app. The build renders the app frame's components with
 * these same settings into a static stylesheet (web/build/antdStaticStyle.ts), so they must be
 * shared: a different token would change antd's style hashes and the static styles would not apply.
 */
export const ANTD_CONFIG = {
  button: { autoInsertSpace: false },
  theme: { token: { colorPrimary: '#1f6feb', borderRadius: 6, colorTextDescription: 'rgba(0, 0, 0, 0.62)', colorTextTertiary: 'rgba(0, 0, 0, 0.62)',
    // WCAG AA contrast (4.5:1) for links, selected menu items, placeholders and empty-table text (axe, test/web.console.test.ts).
    colorLink: '#0958d9', colorTextPlaceholder: 'rgba(0, 0, 0, 0.56)', colorTextQuaternary: 'rgba(0, 0, 0, 0.56)' } },
} satisfies ConfigProviderProps;
