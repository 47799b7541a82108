import type { RecordingsLocation } from '../config.ts';
import type { Logger } from '../logger.ts';
import { DirectoryRecordingStore } from './directoryStore.ts';
import { S3RecordingStore } from './s3Store.ts';
import type { RecordingStore } from './recordingStore.ts';

/** The store BASTION_RECORDINGS_URL names. */
export function openRecordingStore(location: RecordingsLocation, log?: Logger): RecordingStore {
  return location.kind === 's3' ? new S3RecordingStore(location, log) : new DirectoryRecordingStore(location.dir);
}
