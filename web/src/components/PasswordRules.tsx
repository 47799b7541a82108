import { useQuery } from '@tanstack/react-query';
import { CheckCircleFilled, CloseCircleFilled, MinusCircleOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { meService, type PasswordPolicy } from '../services/me.ts';

type Rule = 'too_short' | 'too_long' | 'contains_username' | 'repeated_character' | 'too_common';

/**
 * The server's rules (core/identity/passwordRules.ts, served by GET /auth/password-policy) run
 * on what is typed, in the same order; the server still decides on save.
 */
function broken(p: PasswordPolicy, password: string, username: string): Set<Rule> {
  const out = new Set<Rule>();
  if (password.length < p.minLength) out.add('too_short');
  if (password.length > p.maxLength) out.add('too_long');
  const lower = password.toLowerCase();
  const name = username.toLowerCase();
  if (name && (lower === name || (lower.includes(name) && name.length >= p.usernameMinLength))) out.add('contains_username');
  if (password && /^(.)\1*$/.test(password)) out.add('repeated_character');
  const base = lower.replace(/^[\d\W_]+|[\d\W_]+$/g, '');
  const plain = base.replace(/[0134579@$!]/g, (c) => p.lookAlikes[c] ?? c);
  if (p.commonExact.includes(lower) || p.commonWords.includes(base) || p.commonWords.includes(plain)) out.add('too_common');
  return out;
}

/** The password rules stated beside the field, each ticked or crossed as the user types. */
export function PasswordRules({ password, username }: { password: string | undefined; username: string | undefined }) {
  const { t } = useTranslation();
  const policy = useQuery({ queryKey: ['password-policy'], queryFn: meService.passwordPolicy, staleTime: Infinity });
  if (!policy.data) return null;
  const value = password ?? '';
  const bad = broken(policy.data, value, username ?? '');
  const rules: Rule[] = ['too_short', 'contains_username', 'repeated_character', 'too_common'];
  return (
    <ul className="password-rules" aria-label={t('passwordPolicy.title')} data-testid="password-rules">
      {rules.map((r) => {
        const state = !value ? 'todo' : bad.has(r) ? 'bad' : 'ok';
        return (
          <li key={r} data-state={state}>
            {state === 'ok' ? <CheckCircleFilled style={{ color: '#389e0d' }} aria-hidden /> : state === 'bad' ? <CloseCircleFilled style={{ color: '#cf1322' }} aria-hidden /> : <MinusCircleOutlined aria-hidden />}
            {' '}{t(`passwordPolicy.${r}`, { min: policy.data.minLength, max: policy.data.maxLength })}
          </li>
        );
      })}
    </ul>
  );
}
