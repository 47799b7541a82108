import type { ConfigProviderProps } from 'antd';

/**
 * The ConfigProvider settings of the whole app. The build renders the app frame's components with
 * these same settings into a static stylesheet (web/build/antdStaticStyle.ts), so they must be
 * shared: a different token would change antd's style hashes and the static styles would not apply.
 */
export const ANTD_CONFIG = {
  button: { autoInsertSpace: false },
  theme: { token: { colorPrimary: '#1f6feb', borderRadius: 6 } },
} satisfies ConfigProviderProps;
