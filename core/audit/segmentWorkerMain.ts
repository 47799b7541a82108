// The process that cuts recordings into playback segments, at a low CPU priority: a 50 MiB
// recording is seconds of terminal emulation, which must neither run on the event loop that
// carries live SSH sessions and API requests nor take CPU from them.
import { buildSegments } from './recordingSegments.ts';
import type { BuildReply, BuildRequest } from './segmentBuilder.ts';

const reply = (r: BuildReply): void => {
  process.send?.(r);
};

// One build at a time: memory stays that of one build, whatever the queue.
let queue: Promise<void> = Promise.resolve();
process.on('message', (req: BuildRequest) => {
  queue = queue.then(() => buildSegments(req.castFile, req.outFile, req.source ? { source: req.source } : {}).then(
    (index) => reply({ id: req.id, index }),
    (err: unknown) => reply({ id: req.id, error: err instanceof Error ? err.message : String(err) }),
  ));
});
// The bastion that started it is gone: so is this.
process.on('disconnect', () => process.exit(0));
