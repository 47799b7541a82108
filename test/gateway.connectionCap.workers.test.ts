// gateway.connectionCap again, with the gateway in worker processes as `npm start` runs it (see gatewayFixture.ts):
// the connections land on both workers, which count them together.
import { describe } from 'node:test';
import { IN_WORKERS, useWorkersTopology } from './gatewayFixture.ts';

useWorkersTopology();
describe(IN_WORKERS, async () => { await import('./gateway.connectionCap.test.ts'); });
