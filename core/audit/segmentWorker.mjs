// Entry of the segment-building process (see segmentBuilder.ts). Plain JavaScript so the
// process starts under any parent's flags: it registers tsx itself, then loads the builder.
// Only when the parent runs from the sources; the built product forks segmentWorkerMain.js.
import { register } from 'tsx/esm/api';

register();
await import('./segmentWorkerMain.ts');
