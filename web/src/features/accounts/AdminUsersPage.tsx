import { AccountsPage } from './AccountsPage.tsx';

export function AdminUsersPage() {
  return <AccountsPage kind="admin-users" />;
}
