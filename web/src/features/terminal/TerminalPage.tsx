import { useEffect, useRef, useState } from 'react';
import { useParams, useSearchParams } from 'react-router';
import { Alert, Button, Flex, Input, Space, Tabs, Tag, Tooltip, Typography } from 'antd';
import { CopyOutlined, MinusOutlined, PlusOutlined, SnippetsOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { TerminalView, type TerminalHandle } from './TerminalView.tsx';
import type { TerminalStatus, TerminalTarget } from './terminalSocket.ts';
import { FONT_SIZES, saveFontSize, savedFontSize } from './terminalTheme.ts';

interface Tab {
  key: string;
  target: TerminalTarget;
  status: TerminalStatus;
  sessionId: string | null;
}

let nextKey = 0;
const newTab = (target: TerminalTarget): Tab => ({ key: `t${++nextKey}`, target, status: { kind: 'connecting' }, sessionId: null });

function StatusTag({ status }: { status: TerminalStatus }) {
  const { t } = useTranslation();
  switch (status.kind) {
    case 'connecting': return <Tag>{t('terminal.connecting')}</Tag>;
    case 'open': return <Tag color="green">{t('terminal.connected')}</Tag>;
    case 'reconnecting': return <Tag color="orange">{t('terminal.reconnecting')}</Tag>;
    default: return <Tag color="default">{t('terminal.closed')}</Tag>;
  }
}

/** Why a tab's terminal is over, in one line, or null while it runs. */
function useEndLine(status: TerminalStatus): string | null {
  const { t } = useTranslation();
  if (status.kind === 'ended') {
    if (status.reason) return t('terminal.endedBecause', { reason: status.reason });
    return status.signal ? t('terminal.endedSignal', { signal: status.signal }) : t('terminal.endedStatus', { status: status.status ?? 0 });
  }
  if (status.kind === 'closed') {
    if (status.code === 1008) return t('terminal.revoked', { reason: status.reason || t('terminal.accessRevoked') });
    return t('terminal.refused');
  }
  return null;
}

function EndBanner({ status }: { status: TerminalStatus }) {
  const line = useEndLine(status);
  if (!line) return null;
  return <Alert type={status.kind === 'ended' && !status.reason ? 'info' : 'warning'} showIcon title={line} data-testid="terminal-ended" />;
}

/** The web terminal: `/terminal/<asset>?systemUser=<name>`, several terminals in tabs. */
export function TerminalPage() {
  const { t } = useTranslation();
  const { asset = '' } = useParams();
  const [params] = useSearchParams();
  const systemUser = params.get('systemUser');
  const [tabs, setTabs] = useState<Tab[]>(() => [newTab({ asset, systemUser })]);
  const [active, setActive] = useState(() => tabs[0]!.key);
  const [fontSize, setFontSize] = useState(savedFontSize);
  const [find, setFind] = useState('');
  const handles = useRef(new Map<string, TerminalHandle>());

  // Another Connect while the page is open (a deep link followed in this tab) opens another terminal.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const tab = newTab({ asset, systemUser });
    setTabs((ts) => [...ts, tab]);
    setActive(tab.key);
  }, [asset, systemUser]);

  const update = (key: string, patch: Partial<Tab>) => setTabs((ts) => ts.map((x) => (x.key === key ? { ...x, ...patch } : x)));
  const add = () => {
    const current = tabs.find((x) => x.key === active)?.target ?? { asset, systemUser };
    const tab = newTab(current);
    setTabs((ts) => [...ts, tab]);
    setActive(tab.key);
  };
  const remove = (key: string) => {
    setTabs((ts) => {
      const rest = ts.filter((x) => x.key !== key);
      if (key === active && rest.length) setActive(rest[rest.length - 1]!.key);
      return rest;
    });
    handles.current.delete(key);
  };
  const zoom = (by: number) => {
    const n = Math.min(FONT_SIZES.max, Math.max(FONT_SIZES.min, fontSize + by));
    setFontSize(n);
    saveFontSize(n);
  };
  const current = () => handles.current.get(active);
  const label = (x: Tab) => `${x.target.systemUser ? `${x.target.systemUser}@` : ''}${x.target.asset}`;

  return (
    <Flex vertical gap={8} className="terminal-page">
      <Flex justify="space-between" align="center" wrap gap={8}>
        <Typography.Title level={4} style={{ margin: 0 }}>{t('terminal.title', { asset })}</Typography.Title>
        <Space wrap>
          <Input.Search
            size="small" allowClear placeholder={t('terminal.find')} aria-label={t('terminal.find')} style={{ width: 200 }}
            value={find} onChange={(e) => setFind(e.target.value)} onSearch={(v) => { if (v) current()?.findNext(v); }}
          />
          <Tooltip title={t('terminal.copyHint')}><Button size="small" icon={<CopyOutlined />} onClick={() => void current()?.copy()}>{t('terminal.copy')}</Button></Tooltip>
          <Tooltip title={t('terminal.pasteHint')}><Button size="small" icon={<SnippetsOutlined />} onClick={() => void current()?.paste()}>{t('terminal.paste')}</Button></Tooltip>
          <Button size="small" icon={<MinusOutlined />} aria-label={t('terminal.smaller')} onClick={() => zoom(-1)} />
          <Typography.Text data-testid="terminal-font-size">{fontSize}px</Typography.Text>
          <Button size="small" icon={<PlusOutlined />} aria-label={t('terminal.larger')} onClick={() => zoom(1)} />
        </Space>
      </Flex>
      <Tabs
        type="editable-card" size="small" activeKey={active} onChange={setActive}
        addIcon={<span data-testid="terminal-new-tab" aria-label={t('terminal.newTab')}><PlusOutlined /></span>}
        onEdit={(key, action) => (action === 'add' ? add() : remove(String(key)))}
        items={tabs.map((x) => ({
          key: x.key,
          label: <span data-testid="terminal-tab">{label(x)} <StatusTag status={x.status} /></span>,
          forceRender: true,
          children: (
            <Flex vertical gap={8}>
              <EndBanner status={x.status} />
              <TerminalView
                target={x.target} fontSize={fontSize} active={x.key === active}
                onStatus={(status) => update(x.key, { status })} onSession={(sessionId) => update(x.key, { sessionId })}
                handle={(h) => { if (h) handles.current.set(x.key, h); }}
              />
            </Flex>
          ),
        }))}
      />
    </Flex>
  );
}
