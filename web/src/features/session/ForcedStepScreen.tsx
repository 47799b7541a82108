import type { CSSProperties, ReactNode } from 'react';
import { useNavigate } from 'react-router';
import { Button, Card, Typography } from 'antd';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { meService } from '../../services/me.ts';
import { ME_KEY } from './useSession.ts';

/**
 * A step the account must take before anything else (a new password, MFA enrolment): the
 * login screen's card with the step's title, its content, and a way out (log out).
 */
export function ForcedStepScreen({ title, cardStyle, children }: { title: string; cardStyle?: CSSProperties; children: ReactNode }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const logOut = async (): Promise<void> => {
    await meService.logout().catch(() => undefined);
    qc.clear();
    qc.setQueryData(ME_KEY, null);
    navigate('/login', { replace: true });
  };
  return (
    <div className="login-screen">
      <main id="main" tabIndex={-1}>
        <Card className="login-card" {...(cardStyle ? { style: cardStyle } : {})}>
          <Typography.Title level={1} style={{ marginTop: 0, fontSize: 22 }}>{title}</Typography.Title>
          {children}
          <Button type="link" block style={{ marginTop: 8 }} onClick={logOut}>
            {t('app.logout')}
          </Button>
        </Card>
      </main>
    </div>
  );
}
