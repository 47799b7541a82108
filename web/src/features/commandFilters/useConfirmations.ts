import { useQuery } from '@tanstack/react-query';
import { commandFiltersService } from '../../services/commandFilters.ts';

export const CONFIRMATIONS_KEY = ['command-confirmations'] as const;

/** Commands held for an admin's decision, polled every 2 s (they time out quickly). */
export function useConfirmations(enabled = true) {
  return useQuery({ queryKey: CONFIRMATIONS_KEY, queryFn: () => commandFiltersService.pending(), refetchInterval: 2000, refetchIntervalInBackground: true, enabled });
}
