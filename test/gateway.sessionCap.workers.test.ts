// gateway.sessionCap again, with the gateway in worker processes as `npm start` runs it (see gatewayFixture.ts).
import { describe } from 'node:test';
import { IN_WORKERS, useWorkersTopology } from './gatewayFixture.ts';

useWorkersTopology();
describe(IN_WORKERS, async () => { await import('./gateway.sessionCap.test.ts'); });
