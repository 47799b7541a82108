// The worker thread that cuts recordings into playback segments: a 50 MiB recording is
// seconds of terminal emulation, which must not run on the event loop that carries live
// SSH sessions and API requests.
import { parentPort } from 'node:worker_threads';
import { buildSegments } from './recordingSegments.ts';
import type { BuildReply, BuildRequest } from './segmentBuilder.ts';

const port = parentPort!;
port.on('message', (req: BuildRequest) => {
  buildSegments(req.castFile).then(
    (index) => port.postMessage({ id: req.id, index } satisfies BuildReply),
    (err: unknown) => port.postMessage({ id: req.id, error: err instanceof Error ? err.message : String(err) } satisfies BuildReply),
  );
});
