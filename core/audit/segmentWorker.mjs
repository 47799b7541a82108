// Entry of the segment-building worker thread (see segmentBuilder.ts). Plain JavaScript so
// the thread can start under any loader: it registers tsx itself, then loads the builder.
import { register } from 'tsx/esm/api';

register();
await import('./segmentWorkerMain.ts');
