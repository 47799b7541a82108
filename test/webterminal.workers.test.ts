// webterminal again, with the SSH gateway in worker processes as `npm start` runs it: the web
// terminal's sessions live in the HTTP process (the primary) beside them, on the cluster bus.
import { describe } from 'node:test';
import { IN_WORKERS, useWorkersTopology } from './gatewayFixture.ts';

useWorkersTopology();
describe(IN_WORKERS, async () => { await import('./webterminal.test.ts'); });
