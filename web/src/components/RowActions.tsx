import { Fragment, type ReactNode } from 'react';
import { Link } from 'react-router';
import { App, Button, Dropdown, Popconfirm, Space, type MenuProps } from 'antd';
import { MoreOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { usePhone } from './usePhone.ts';

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
  /** A page of the app to go to instead of something to do. */
  to?: string;
  /** A file to download (a plain link with the `download` attribute: the browser saves it). */
  download?: { href: string; name: string };
  onClick?: () => unknown;
  /** Asked first (deletions): antd Popconfirm on the button, a confirmation dialog from the menu. */
  confirm?: { title: string; description?: string; okText: string };
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
    label: a.to ? <Link to={a.to}>{a.label}</Link> : a.download ? <a href={a.download.href} download={a.download.name}>{a.label}</a> : a.label,
    onClick: a.to || a.download ? undefined : () => run(a),
  }));

  return (
    <Space size={4} wrap>
      {buttons.map((a) => {
        // Named with the row ("Edit alice"), so that a screen reader's list of buttons tells the rows apart.
        const named = `${a.label} ${name}`;
        // A page to go to is a link (one keyboard stop, named like the button it shows), as on My assets.
        if (a.to) {
          return (
            <Link key={a.key} to={a.to} aria-label={named}>
              <Button size="small" icon={a.icon} type={a.primary ? 'primary' : undefined} tabIndex={-1}>{a.withText ? a.label : null}</Button>
            </Link>
          );
        }
        if (a.download) {
          return (
            <a key={a.key} href={a.download.href} download={a.download.name} aria-label={named}>
              <Button size="small" icon={a.icon} tabIndex={-1}>{a.withText ? a.label : null}</Button>
            </a>
          );
        }
        const button = (
          <Button
            size="small" icon={a.icon} danger={a.danger} disabled={a.disabled} type={a.primary ? 'primary' : undefined}
            aria-label={named}
            onClick={a.confirm ? undefined : () => void a.onClick?.()}
          >
            {a.withText ? a.label : null}
          </Button>
        );
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
