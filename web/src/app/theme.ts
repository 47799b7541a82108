import type { ConfigProviderProps } from 'antd';

/**
 * The ConfigProvider settings of the whole app. The build renders the app frame's components with
 * these same settings into a static stylesheet (web/build/antdStaticStyle.ts), so they must be
 * shared: a different token would change antd's style hashes and the static styles would not apply.
 */
export const ANTD_CONFIG = {
  button: { autoInsertSpace: false },
  theme: {
    token: {
      // WCAG AA contrast (4.5:1) for primary text, links, selected menu items, secondary text,
      // placeholders and empty-table text: checked by axe-core in test/web.console.test.ts.
      colorPrimary: '#0958d9', colorLink: '#0958d9', borderRadius: 6,
      // antd's #ff4d4f is 3.3:1 on white: danger buttons (Terminate) and error text failed AA.
      colorError: '#cf1322',
      colorTextDescription: 'rgba(0, 0, 0, 0.62)', colorTextTertiary: 'rgba(0, 0, 0, 0.62)',
      colorTextPlaceholder: 'rgba(0, 0, 0, 0.56)', colorTextQuaternary: 'rgba(0, 0, 0, 0.56)',
    },
  },
} satisfies ConfigProviderProps;
