import { App } from 'antd';
import { useTranslation } from 'react-i18next';

/** Copies text to the clipboard and says so; where the clipboard is refused, shows the text to copy by hand. */
export function useCopyText(): (text: string) => Promise<void> {
  const { t } = useTranslation();
  const { message } = App.useApp();
  return async (text: string) => {
    try {
      await navigator.clipboard.writeText(text);
      void message.success(t('app.copied'));
    } catch {
      void message.info(text);
    }
  };
}
