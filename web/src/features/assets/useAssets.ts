import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { assetsService, type AssetInput, type AssetListParams } from '../../services/assets.ts';
import { nodesService } from '../../services/nodes.ts';
import { NODES_KEY } from '../../components/NodePicker.tsx';

export const ASSETS_KEY = ['assets'] as const;

export function useAssets(params: AssetListParams) {
  return useQuery({ queryKey: [...ASSETS_KEY, params], queryFn: () => assetsService.list(params), placeholderData: keepPreviousData });
}

export function useAsset(id: string) {
  return useQuery({ queryKey: [...ASSETS_KEY, 'one', id], queryFn: () => assetsService.get(id) });
}

/** Asset and node changes; both refresh assets and the tree (asset counts). */
export function useAssetMutations() {
  const qc = useQueryClient();
  const onSuccess = async () => {
    await Promise.all([qc.invalidateQueries({ queryKey: ASSETS_KEY }), qc.invalidateQueries({ queryKey: NODES_KEY })]);
  };
  return {
    create: useMutation({ mutationFn: (input: AssetInput) => assetsService.create(input), onSuccess }),
    update: useMutation({ mutationFn: ({ id, patch }: { id: string; patch: AssetInput }) => assetsService.update(id, patch), onSuccess }),
    remove: useMutation({ mutationFn: (id: string) => assetsService.remove(id), onSuccess }),
    createNode: useMutation({ mutationFn: ({ name, parent }: { name: string; parent: string | null }) => nodesService.create(name, parent), onSuccess }),
    updateNode: useMutation({ mutationFn: ({ id, patch }: { id: string; patch: { name?: string; parent?: string } }) => nodesService.update(id, patch), onSuccess }),
    removeNode: useMutation({ mutationFn: (id: string) => nodesService.remove(id), onSuccess }),
  };
}
