import type { ReactNode } from 'react';
import { Flex, Typography } from 'antd';

/** A page: its title (the one h1), actions on the right, then the content. */
export function Page({ title, extra, children }: { title: ReactNode; extra?: ReactNode; children: ReactNode }) {
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
