// gateway.clients again, with the gateway in worker processes as `npm start` runs it (see
// gatewayFixture.ts): a representative subset (see IN_WORKERS_TWIN in gateway.clients.test.ts).
import { describe } from 'node:test';
import { IN_WORKERS, useWorkersTopology } from './gatewayFixture.ts';

useWorkersTopology();
describe(IN_WORKERS, async () => { await import('./gateway.clients.test.ts'); });
