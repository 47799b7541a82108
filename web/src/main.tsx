import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App as AntApp, ConfigProvider } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import { useTranslation } from 'react-i18next';
import { ApiError } from './services/api.ts';
import './i18n/index.ts';
// antd's styles for the app frame and its common components, rendered at build time (web/build/):
// antd then skips generating and injecting them in the browser, about 0.1 s of a first visit.
import 'virtual:antd-static.css';
import './styles.css';
import { App } from './app/App.tsx';
import { ANTD_CONFIG } from './app/theme.ts';
import { MotionPreference } from './app/reducedMotion.tsx';
import { prefetchRoute } from './app/features.tsx';
import { meQuery } from './features/session/useSession.ts';
import { installFocusReturn } from './components/focusReturn.ts';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A 4xx will not get better by asking again.
      retry: (count, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
      refetchOnWindowFocus: false,
    },
  },
});

// Who is logged in, and the page being opened (its code and data), are all asked for before the
// first render rather than one after the other as components mount.
void queryClient.prefetchQuery(meQuery);
prefetchRoute(window.location.pathname, queryClient);
// Closing any dialog gives focus back to what opened it.
installFocusReturn();

function Root() {
  const { i18n } = useTranslation();
  const zh = i18n.language === 'zh';
  dayjs.locale(zh ? 'zh-cn' : 'en');
  return (
    <ConfigProvider locale={zh ? zhCN : enUS} {...ANTD_CONFIG}>
      <MotionPreference>
        <AntApp>
          <BrowserRouter>
            <App />
          </BrowserRouter>
        </AntApp>
      </MotionPreference>
    </ConfigProvider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <Root />
    </QueryClientProvider>
  </StrictMode>,
);
