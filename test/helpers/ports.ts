import { createServer } from 'node:net';

/**
 * Ports this process was given: the OS may pick a port it just released again, and two ports
 * asked for in a row (a container's HTTP and SSH ports) must differ.
 */
const handedOut = new Set<number>();

function osPickedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: could not read the bound port'));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it), never one this process was given before. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await osPickedPort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('freePort: the OS kept picking ports this process was already given');
}
