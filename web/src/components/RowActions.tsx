import { Fragment, useSyncExternalStore, type ReactNode } from 'react';
import { Link } from 'react-router';
import { App, Button, Dropdown, Popconfirm, Space, type MenuProps } from 'antd';
import { MoreOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';

/** What one row offers: a button on wide screens, an item of the "more" menu on phones. */
export interface RowAction {
  key: string;
  /** The action's word ("Edit"): the menu item's text, and with the row's name the button's accessible name. */
  label: string;
  icon?: ReactNode;
  danger?: boolean;
  disabled?: boolean;
  /** On wide screens a button with its word, not only its icon. */
  withText?: boolean;
  primary?: boolean;
  /** Only ever in the "more" menu (rarer actions). */
  inMenu?: boolean;
  /** A page to go to instead of something to do. */
  to?: string;
  onClick?: () => unknown;
  /** Asked first (deletions): antd Popconfirm on the button, a confirmation dialog from the menu. */
  confirm?: { title: string; description?: string; okText: string };
}

/** Below 600 px tables are cards (styles.css): the same breakpoint. */
const PHONE = '(max-width: 600px)';

function subscribe(onChange: () => void): () => void {
  const mq = window.matchMedia(PHONE);
  mq.addEventListener('change', onChange);
  return () => mq.removeEventListener('change', onChange);
}

export function usePhone(): boolean {
  return useSyncExternalStore(subscribe, () => window.matchMedia(PHONE).matches, () => false);
}

/**
 * The actions of a table row. On a phone a card would carry a row of small buttons wrapping
 * under each other (and the Sessions page's hid the other columns): there every action goes
 * into one "More" menu with a visible, labelled trigger. Elsewhere the common ones are buttons
 * and the rare ones (`inMenu`) sit behind a "more" button.
 */
export function RowActions({ name, actions }: { name: string; actions: RowAction[] }) {
  const { t } = useTranslation();
  const { modal } = App.useApp();
  const phone = usePhone();
  const menuActions = phone ? actions : actions.filter((a) => a.inMenu);
  const buttons = phone ? [] : actions.filter((a) => !a.inMenu);

  const run = (a: RowAction) => {
    if (!a.confirm) { void a.onClick?.(); return; }
    modal.confirm({
      title: a.confirm.title, content: a.confirm.description, okText: a.confirm.okText, cancelText: t('common.cancel'),
      okButtonProps: { danger: a.danger }, onOk: () => a.onClick?.(),
    });
  };
  const items: MenuProps['items'] = menuActions.map((a) => ({
    key: a.key, icon: a.icon, danger: a.danger, disabled: a.disabled,
    label: a.to ? <Link to={a.to}>{a.label}</Link> : a.label,
    onClick: a.to ? undefined : () => run(a),
  }));

  return (
    <Space size={4} wrap>
      {buttons.map((a) => {
        const button = (
          <Button
            size="small" icon={a.icon} danger={a.danger} disabled={a.disabled} type={a.primary ? 'primary' : undefined}
            aria-label={a.withText ? undefined : `${a.label} ${name}`}
            onClick={a.confirm || a.to ? undefined : () => void a.onClick?.()}
          >
            {a.withText ? a.label : null}
          </Button>
        );
        // The button is the one keyboard stop; its click reaches the link.
        if (a.to) return <Link key={a.key} to={a.to} tabIndex={-1}>{button}</Link>;
        if (a.confirm) {
          return (
            <Popconfirm key={a.key} title={a.confirm.title} description={a.confirm.description} okText={a.confirm.okText} okButtonProps={{ danger: a.danger }} cancelText={t('common.cancel')} onConfirm={() => a.onClick?.()}>
              {button}
            </Popconfirm>
          );
        }
        return <Fragment key={a.key}>{button}</Fragment>;
      })}
      {items.length ? (
        <Dropdown menu={{ items }} trigger={['click']}>
          {phone
            ? <Button size="small" icon={<MoreOutlined />} aria-label={t('forms.moreActionsOf', { name })}>{t('forms.moreActions')}</Button>
            : <Button size="small" icon={<MoreOutlined />} aria-label={`${t('common.actions')} ${name}`} />}
        </Dropdown>
      ) : null}
    </Space>
  );
}
