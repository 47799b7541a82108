// gateway.preauth again, with the gateway in worker processes as `npm start` runs it (see gatewayFixture.ts):
// the start-up limits hold for the host, not for each worker.
import { describe } from 'node:test';
import { IN_WORKERS, useWorkersTopology } from './gatewayFixture.ts';

useWorkersTopology();
describe(IN_WORKERS, async () => { await import('./gateway.preauth.test.ts'); });
