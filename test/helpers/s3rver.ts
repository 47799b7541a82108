// A real S3 server for tests: s3rver speaks the S3 REST API over a temp directory, on a
// loopback port. Nothing of the AWS SDK is mocked; requests are signed and checked.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';
import { makeTempDir } from './tmp.ts';

export const S3_BUCKET = 'bastion-recordings';
/** s3rver's built-in key pair. */
const ACCESS_KEY = 'S3RVER';
const SECRET_KEY = 'S3RVER';

export interface S3rverHandle {
  endpoint: string;
  /** The directory s3rver keeps its buckets in. */
  directory: string;
  /** The environment that points a bastion at this server, under `prefix`. */
  env(prefix: string): Record<string, string>;
  stop(): Promise<void>;
}

export async function startS3rver(): Promise<S3rverHandle> {
  // Kept until the process exits: s3rver goes on with a PUT after close() when its client has gone
  // (a gateway killed mid-upload), and writes into it then.
  const directory = makeTempDir('bastion-s3-', { untilExit: true });
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: S3_BUCKET }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    directory,
    env: (prefix) => ({
      BASTION_RECORDINGS_URL: `s3://${S3_BUCKET}/${prefix}`,
      BASTION_S3_ENDPOINT: endpoint,
      BASTION_S3_REGION: 'us-east-1',
      BASTION_S3_ACCESS_KEY_ID: ACCESS_KEY,
      BASTION_S3_SECRET_ACCESS_KEY: SECRET_KEY,
      BASTION_S3_FORCE_PATH_STYLE: 'true',
    }),
    stop: async () => {
      server.httpServer?.closeAllConnections();
      await server.close();
    },
  };
}

export interface S3Relay {
  endpoint: string;
  /** UploadPart requests the relay holds back unanswered (the part "on its way"), by part number. */
  readonly held: number[];
  /** Resolves once an UploadPart for `partNumber` is held. */
  heldPart(partNumber: number): Promise<void>;
  /** Sends the held requests on. */
  release(): void;
  stop(): Promise<void>;
}

/**
 * A plain HTTP relay in front of an S3 server that can hold back the upload of chosen parts
 * (a slow or stuck link to the bucket), so a test can see what a writer does while a part is
 * on its way, or kill it then. Requests are passed through unchanged (signatures stay valid).
 */
export async function startS3Relay(target: string, hold: (partNumber: number) => boolean): Promise<S3Relay> {
  const held: number[] = [];
  const pending: Array<() => void> = [];
  const waiters = new Map<number, () => void>();
  const server = http.createServer((req, res) => {
    const url = new URL(String(req.url), 'http://relay');
    const part = req.method === 'PUT' && url.searchParams.has('uploadId') ? Number(url.searchParams.get('partNumber')) : 0;
    const forward = () => {
      const up = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    if (part > 0 && hold(part)) {
      held.push(part);
      pending.push(forward);
      waiters.get(part)?.();
      return;
    }
    forward();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    heldPart: (n) => new Promise<void>((resolve) => {
      if (held.includes(n)) resolve();
      else waiters.set(n, resolve);
    }),
    release: () => { for (const f of pending.splice(0)) f(); },
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
