import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { usersService, type UserInput, type UserListParams } from '../../services/users.ts';

export const USERS_KEY = ['users'] as const;

export function useUsers(params: UserListParams) {
  return useQuery({ queryKey: [...USERS_KEY, params], queryFn: () => usersService.list(params), placeholderData: keepPreviousData });
}

/** Every change to users, each refreshing the lists afterwards. */
export function useUserMutations() {
  const qc = useQueryClient();
  const refresh = () => qc.invalidateQueries({ queryKey: USERS_KEY });
  const opts = { onSuccess: refresh };
  return {
    create: useMutation({ mutationFn: (input: UserInput) => usersService.create(input), ...opts }),
    update: useMutation({ mutationFn: ({ id, patch }: { id: string; patch: UserInput }) => usersService.update(id, patch), ...opts }),
    remove: useMutation({ mutationFn: (id: string) => usersService.remove(id), ...opts }),
    lock: useMutation({ mutationFn: (id: string) => usersService.lock(id), ...opts }),
    unlock: useMutation({ mutationFn: (id: string) => usersService.unlock(id), ...opts }),
    resetMfa: useMutation({ mutationFn: (id: string) => usersService.resetMfa(id), ...opts }),
  };
}

export const LOGIN_LOCKS_KEY = ['login-locks'] as const;

/** (username, address) pairs locked by failed logins, and clearing one. */
export function useLoginLocks() {
  const qc = useQueryClient();
  return {
    locks: useQuery({ queryKey: LOGIN_LOCKS_KEY, queryFn: () => usersService.loginLocks() }),
    clear: useMutation({
      mutationFn: ({ username, source }: { username: string; source: string }) => usersService.clearLoginLock(username, source),
      onSuccess: () => qc.invalidateQueries({ queryKey: LOGIN_LOCKS_KEY }),
    }),
  };
}
