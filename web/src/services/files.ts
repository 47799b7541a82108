import { api, apiUrl, uploadFile, type Upload } from './api.ts';
import { num, str, strOrNull, type Json } from './common.ts';

/** Which asset, as which system user: every file call names both. */
export interface FileTarget {
  asset: string;
  systemUser?: string | undefined;
}

export interface RemoteEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  linkToDirectory: boolean;
  size: number;
  mode: number;
  modifiedAt: string | null;
}

export interface Listing {
  path: string;
  entries: RemoteEntry[];
  truncated: boolean;
}

const TYPES = new Set(['file', 'directory', 'symlink', 'other']);

export function makeEntry(j: Json): RemoteEntry {
  const type = str(j.type);
  return {
    name: str(j.name), type: (TYPES.has(type) ? type : 'other') as RemoteEntry['type'], linkToDirectory: j.linkToDirectory === true,
    size: num(j.size), mode: num(j.mode), modifiedAt: strOrNull(j.modifiedAt),
  };
}

/** Opens as a directory: a directory, or a link to one. */
export const isDirectory = (e: RemoteEntry) => e.type === 'directory' || e.linkToDirectory;

/** `dir` + `name` as one absolute path. */
export function childPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** The parent of an absolute path (`/` stays `/`). */
export function parentPath(path: string): string {
  const i = path.replace(/\/+$/, '').lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** The path's components with the path up to each, for the breadcrumb. */
export function pathCrumbs(path: string): { name: string; path: string }[] {
  const parts = path.split('/').filter(Boolean);
  return [{ name: '/', path: '/' }, ...parts.map((name, i) => ({ name, path: '/' + parts.slice(0, i + 1).join('/') }))];
}

const target = (t: FileTarget) => ({ asset: t.asset, systemUser: t.systemUser });

export const filesService = {
  async list(t: FileTarget, path?: string): Promise<Listing> {
    const j = await api.get<Json>('/me/files', { ...target(t), path });
    return { path: str(j.path), entries: Array.isArray(j.entries) ? (j.entries as Json[]).map(makeEntry) : [], truncated: j.truncated === true };
  },
  /** A plain link: the browser downloads (and streams to disk) on its own, with the session cookie. */
  downloadUrl: (t: FileTarget, path: string) => apiUrl('/me/files/download', { ...target(t), path }),
  upload: (t: FileTarget, path: string, file: Blob, overwrite: boolean, onProgress: (sent: number, total: number) => void): Upload<{ size: number }> =>
    uploadFile('/me/files/upload', { ...target(t), path, overwrite: overwrite ? 'true' : undefined }, file, onProgress),
  mkdir: (t: FileTarget, path: string) => api.post<void>('/me/files/mkdir', { ...target(t), path }),
  rename: (t: FileTarget, from: string, to: string) => api.post<void>('/me/files/rename', { ...target(t), from, to }),
  remove: (t: FileTarget, path: string) => api.delete('/me/files', { ...target(t), path }),
};
