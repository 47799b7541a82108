// The directory store's files, for tests that look at what lands on the disk (modes, bytes,
// `asciinema cat`). Product code reaches recordings only through services.recordings.
import type { Services } from '../../core/services.ts';
import type { Session } from '../../core/db/entities/index.ts';
import { open, stat } from 'node:fs/promises';
import { DirectoryRecordingStore } from '../../core/recordings/directoryStore.ts';
import { buildSegments, type SegmentIndex, type SidecarReader } from '../../core/audit/recordingSegments.ts';

function directory(services: Services): DirectoryRecordingStore {
  const store = services.recordings;
  if (!(store instanceof DirectoryRecordingStore)) throw new Error('this test reads recording files: it needs the directory store');
  return store;
}

/** The recordings directory of a bastion on the directory store. */
export function recordingsDir(services: Services): string {
  return directory(services).dir;
}

/** The file of a session's recording (may not exist yet), or null when it has none. */
export function recordingFile(services: Services, session: Pick<Session, 'id' | 'recording'>): string | null {
  const name = services.sessions.recordingOf(session);
  return name ? directory(services).fileOf(name) : null;
}

/** Segments of a local .cast built into `<file>.seg`, as the directory store keeps them. */
export function buildLocalSegments(castFile: string, opts: { segmentBytes?: number; segmentSeconds?: number } = {}): Promise<SegmentIndex> {
  return buildSegments(castFile, `${castFile}.seg`, opts);
}

/** Reads the `<file>.seg` sidecar of a local .cast. */
export function localSidecar(castFile: string): SidecarReader {
  const sidecar = `${castFile}.seg`;
  return async (range) => {
    const size = (await stat(sidecar).catch(() => null))?.size;
    if (size === undefined) return null;
    const start = 'last' in range ? Math.max(0, size - range.last) : range.start;
    const length = 'last' in range ? size - start : Math.min(range.length, size - start);
    const data = Buffer.alloc(Math.max(0, length));
    const fh = await open(sidecar, 'r');
    try {
      await fh.read(data, 0, data.length, start);
    } finally {
      await fh.close();
    }
    return { data, size };
  };
}
