import { AccountsPage } from './AccountsPage.tsx';

export function SystemUsersPage() {
  return <AccountsPage kind="system-users" />;
}
