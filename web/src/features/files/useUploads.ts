import { useCallback, useRef, useState } from 'react';
import { ApiError } from '../../services/api.ts';
import { childPath, filesService, type FileTarget } from '../../services/files.ts';
import { describeApiError, errorText } from '../../components/apiErrors.ts';

export interface UploadItem {
  id: number;
  name: string;
  /** The directory it goes to. */
  dir: string;
  size: number;
  sent: number;
  state: 'sending' | 'done' | 'failed' | 'cancelled' | 'exists';
  message: string | null;
}

/** Uploads under way and finished on this page: several at once, each with its progress and its own cancel. */
export function useUploads(target: FileTarget, onDone: () => void) {
  const [list, setList] = useState<UploadItem[]>([]);
  const cancels = useRef(new Map<number, () => void>());
  const files = useRef(new Map<number, File>());
  const seq = useRef(0);
  const update = (id: number, patch: Partial<UploadItem>) => setList((l) => l.map((u) => (u.id === id ? { ...u, ...patch } : u)));

  const send = useCallback((id: number, file: File, dir: string, overwrite: boolean) => {
    const upload = filesService.upload(target, childPath(dir, file.name), file, overwrite, (sent) => update(id, { sent }));
    cancels.current.set(id, upload.cancel);
    upload.done.then(() => {
      update(id, { state: 'done', sent: file.size, message: null });
      files.current.delete(id);
      onDone();
    }, (err: unknown) => {
      const e = err instanceof ApiError ? err : null;
      if (e?.code === 'cancelled') update(id, { state: 'cancelled', message: null });
      else if (e?.status === 409) update(id, { state: 'exists', message: describeApiError(e) });
      else update(id, { state: 'failed', message: errorText(err) });
      // A cancelled or refused upload can change the directory too (a FileTransfer row, a removed partial file).
      onDone();
    }).finally(() => cancels.current.delete(id));
  }, [target.asset, target.systemUser, onDone]);

  const start = useCallback((file: File, dir: string) => {
    const id = ++seq.current;
    files.current.set(id, file);
    setList((l) => [...l, { id, name: file.name, dir, size: file.size, sent: 0, state: 'sending', message: null }]);
    send(id, file, dir, false);
  }, [send]);

  const cancel = useCallback((id: number) => cancels.current.get(id)?.(), []);
  /** Sends again, replacing the file that exists. */
  const replace = useCallback((id: number) => {
    const file = files.current.get(id);
    const item = list.find((u) => u.id === id);
    if (!file || !item) return;
    update(id, { state: 'sending', sent: 0, message: null });
    send(id, file, item.dir, true);
  }, [list, send]);
  const dismiss = useCallback((id: number) => {
    files.current.delete(id);
    setList((l) => l.filter((u) => u.id !== id));
  }, []);

  return { list, start, cancel, replace, dismiss };
}
