// Entry of the segment-building process (see segmentBuilder.ts). Plain JavaScript so the
// process starts under any parent's flags: it registers tsx itself, then loads the builder.
import { register } from 'tsx/esm/api';

register();
await import('./segmentWorkerMain.ts');
