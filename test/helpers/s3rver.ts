// A real S3 server for tests: s3rver speaks the S3 REST API over a temp directory, on a
// loopback port. Nothing of the AWS SDK is mocked; requests are signed and checked.
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
  const directory = makeTempDir('bastion-s3-');
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
