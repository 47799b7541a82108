// The words of a job's outcome, shared by the core and the web app: the web app imports this
// file for its types only (`import type`, erased at build time, so its bundle and its Docker
// build stage never need core/), and a renamed status breaks both builds, not the page.
// Types only: nothing here may need a runtime import.

export type JobKind = 'connectivity' | 'facts' | 'push' | 'command';

/** `partial`: finished, some assets succeeded and some did not. */
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'partial' | 'failed' | 'canceled';

/** How one asset's piece of a job ended (older rows have none: ok or failed by `ok`). */
export type JobOutcome = 'ok' | 'failed' | 'timedOut' | 'canceled';

/** How many assets ended each way, and how many are still to come. */
export interface JobSummary {
  ok: number;
  failed: number;
  timedOut: number;
  canceled: number;
  pending: number;
}
