import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError } from '../../services/api.ts';
import { meService, type Me } from '../../services/me.ts';

export const ME_KEY = ['me'] as const;

/** Who is logged in (with abilities), or null when nobody is; main.tsx starts it before the first render. */
export const meQuery = {
  queryKey: ME_KEY,
  queryFn: async (): Promise<Me | null> => {
    try {
      return await meService.me();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return null;
      throw e;
    }
  },
  staleTime: 60_000,
  retry: false,
};

/** The logged-in user with abilities, or null when nobody is logged in. */
export function useMe() {
  return useQuery<Me | null>(meQuery);
}

export function useLogout() {
  const qc = useQueryClient();
  return async () => {
    try { await meService.logout(); } catch { /* the session may be gone already */ }
    qc.clear();
    qc.setQueryData(ME_KEY, null);
  };
}
