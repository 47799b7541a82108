import { useEffect, type ReactNode } from 'react';
import { Flex, Typography } from 'antd';
import { useTranslation } from 'react-i18next';

/** The browser tab names the page: "Assets · Bastion". */
export function usePageTitle(title: ReactNode): void {
  const { t } = useTranslation();
  const text = typeof title === 'string' ? title : null;
  useEffect(() => {
    if (text) document.title = `${text} · ${t('app.name')}`;
  }, [text, t]);
}

/** A page: its title (the one h1, also the tab's title), actions on the right, then the content. */
export function Page({ title, extra, children }: { title: ReactNode; extra?: ReactNode; children: ReactNode }) {
  usePageTitle(title);
  return (
    <div className="page">
      <Flex justify="space-between" align="center" wrap gap={12} style={{ marginBottom: 16 }}>
        <Typography.Title level={1} style={{ margin: 0, fontSize: 22 }}>{title}</Typography.Title>
        {extra ? <Flex gap={8} wrap>{extra}</Flex> : null}
      </Flex>
      {children}
    </div>
  );
}
