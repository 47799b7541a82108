import type { RecordingsLocation } from '../config.ts';
import type { Logger } from '../logger.ts';
import { DirectoryRecordingStore } from './directoryStore.ts';
import type { RecordingStore } from './recordingStore.ts';

/**
 * The store BASTION_RECORDINGS_URL names. The S3 store (and the AWS SDK under it: ~26 MB and
 * half a second per process) is loaded only when asked for, so the default directory store's
 * processes — the primary and each gateway worker — never pay for it.
 */
export async function openRecordingStore(location: RecordingsLocation, log?: Logger): Promise<RecordingStore> {
  if (location.kind !== 's3') return new DirectoryRecordingStore(location.dir);
  const { S3RecordingStore } = await import('./s3Store.ts');
  return new S3RecordingStore(location, log);
}
