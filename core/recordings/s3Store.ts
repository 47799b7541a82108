// Recordings as objects in an S3-compatible bucket: <prefix>/YYYY/MM/DD/<uuid>.cast, the
// segment sidecar beside each as <uuid>.cast.seg.
//
// A live recording is one multipart upload, a part every `partBytes`: what a gateway that dies
// (killed, host lost) leaves is every part it finished uploading (it loses the part it was
// filling, and the one on its way if there was one). Beside the upload sits a
// small manifest object (<uuid>.cast.upload: upload id and the parts done so far, rewritten
// after each part), so that recover() can complete the upload later from any process: many
// S3-compatible servers do not list multipart uploads, and none lets a part be read before
// the upload is completed. Until then the recording is not readable (stat is null), which is
// why playback of a live session reads the directory store only.
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand,
  HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand, type CompletedPart, type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { RecordingsLocation } from '../config.ts';
import type { Logger } from '../logger.ts';
import { notFound, type ByteRange, type RecordingInfo, type RecordingName, type RecordingStore, type RecordingUsage } from './recordingStore.ts';

export type S3Location = Extract<RecordingsLocation, { kind: 's3' }>;

/** Listing the whole bucket for the dashboard stops after this many pages (1000 objects each). */
const MAX_LIST_PAGES = 1000;

interface Manifest {
  uploadId: string;
  parts: CompletedPart[];
  /** Bytes in those parts: what recover() makes readable. */
  bytes: number;
}

export class S3RecordingStore implements RecordingStore {
  readonly kind = 's3';
  readonly location: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #sse: { ServerSideEncryption?: ServerSideEncryption; SSEKMSKeyId?: string };
  readonly #partBytes: number;
  readonly #log: Logger | undefined;

  constructor(readonly options: S3Location, log?: Logger) {
    this.#bucket = options.bucket;
    this.#prefix = options.prefix ? `${options.prefix}/` : '';
    this.location = `s3://${options.bucket}/${options.prefix}`;
    this.#partBytes = options.partBytes;
    this.#log = log;
    this.#sse = {
      ...(options.sse ? { ServerSideEncryption: options.sse } : {}),
      ...(options.sseKmsKeyId ? { SSEKMSKeyId: options.sseKmsKeyId } : {}),
    };
    this.#client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle,
      ...(options.credentials ? { credentials: { accessKeyId: options.credentials.accessKeyId, secretAccessKey: options.credentials.secretAccessKey.reveal() } } : {}),
      // Checksums only where the API requires them: several S3-compatible servers refuse the newer headers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  #key(name: RecordingName, suffix = ''): string {
    return `${this.#prefix}${name}${suffix}`;
  }

  create(name: RecordingName): Writable {
    return new MultipartWriter(this.#client, this.#bucket, this.#key(name), this.#key(name, '.upload'), this.#partBytes, this.#sse, this.#log);
  }

  async stat(name: RecordingName): Promise<RecordingInfo | null> {
    return this.#head(this.#key(name));
  }

  async #head(key: string): Promise<RecordingInfo | null> {
    try {
      const r = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return { size: r.ContentLength ?? 0, mtimeMs: r.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async read(name: RecordingName, range?: ByteRange): Promise<Readable> {
    try {
      const r = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(name), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }));
      return r.Body as Readable;
    } catch (err) {
      if (isMissing(err)) throw notFound(name);
      throw err;
    }
  }

  async buildSidecar<T>(name: RecordingName, build: (castFile: string, outFile: string) => Promise<T>): Promise<T> {
    // A private scratch directory: the recording is copied here for the build, the sidecar made here, then uploaded.
    const dir = await mkdtemp(path.join(tmpdir(), 'bastion-seg-'));
    try {
      const castFile = path.join(dir, 'recording.cast');
      const outFile = path.join(dir, 'recording.cast.seg');
      await pipeline(await this.read(name), createWriteStream(castFile, { mode: 0o600 }));
      const result = await build(castFile, outFile);
      await new Upload({
        client: this.#client,
        params: { Bucket: this.#bucket, Key: this.#key(name, '.seg'), Body: createReadStream(outFile), ContentType: 'application/octet-stream', ...this.#sse },
      }).done();
      return result;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async readSidecar(name: RecordingName, range: { start: number; length: number } | { last: number }): Promise<{ data: Buffer; size: number } | null> {
    const key = this.#key(name, '.seg');
    let start: number;
    let end: number;
    if ('last' in range) {
      // The size first: suffix ranges (bytes=-N) are not understood by every S3-compatible server.
      const info = await this.#head(key);
      if (!info) return null;
      start = Math.max(0, info.size - range.last);
      end = info.size - 1;
    } else {
      // One request: the size comes back in Content-Range.
      start = range.start;
      end = range.start + range.length - 1;
    }
    if (end < start) return { data: Buffer.alloc(0), size: end + 1 };
    try {
      const r = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key, Range: `bytes=${start}-${end}` }));
      const data = Buffer.from(await r.Body!.transformToByteArray());
      const total = /\/(\d+)$/.exec(r.ContentRange ?? '')?.[1];
      return { data, size: total ? Number(total) : start + data.length };
    } catch (err) {
      if (isMissing(err)) return null;
      if ((err as { name?: string }).name === 'InvalidRange') return { data: Buffer.alloc(0), size: 0 };
      throw err;
    }
  }

  async removeSidecar(name: RecordingName): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(name, '.seg') }));
  }

  async remove(name: RecordingName): Promise<boolean> {
    const existed = (await this.stat(name)) !== null;
    // A recording whose writer died is dropped too, parts and all.
    const manifest = await this.#manifest(name);
    if (manifest) {
      await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: this.#key(name), UploadId: manifest.uploadId })).catch(() => undefined);
    }
    for (const suffix of ['', '.seg', '.upload']) {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(name, suffix) }));
    }
    return existed || manifest !== null;
  }

  async usage(): Promise<RecordingUsage> {
    let bytes = 0;
    let files = 0;
    let token: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const r = await this.#client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of r.Contents ?? []) {
        bytes += o.Size ?? 0;
        files++;
      }
      if (!r.IsTruncated || !r.NextContinuationToken) break;
      token = r.NextContinuationToken;
    }
    return { bytes, files };
  }

  /** No disk to fill: the bucket's own quota, if any, shows as write errors (fail-closed at session start). */
  async freeBytes(): Promise<null> {
    return null;
  }

  async recover(name: RecordingName): Promise<boolean> {
    const manifest = await this.#manifest(name);
    if (!manifest) return false;
    const key = this.#key(name);
    if (manifest.parts.length === 0) {
      await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: manifest.uploadId })).catch(() => undefined);
    } else {
      try {
        await this.#client.send(new CompleteMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: manifest.uploadId, MultipartUpload: { Parts: manifest.parts } }));
      } catch (err) {
        // Completed meanwhile (by its writer, or another reader): the object is there.
        if (!(await this.#head(key))) throw err;
      }
    }
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(name, '.upload') }));
    this.#log?.warn({ recording: name, parts: manifest.parts.length }, 'recording: a multipart upload left by a stopped gateway was completed with the parts it had uploaded');
    return manifest.parts.length > 0;
  }

  async #manifest(name: RecordingName): Promise<Manifest | null> {
    try {
      const r = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(name, '.upload') }));
      const m = JSON.parse(await r.Body!.transformToString()) as Manifest;
      return typeof m.uploadId === 'string' && Array.isArray(m.parts) ? m : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async probe(): Promise<void> {
    const key = `${this.#prefix}.probe-${randomUUID()}`;
    await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: '', ...this.#sse }));
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
  }

  close(): void {
    this.#client.destroy();
  }
}

/**
 * One recording being uploaded. Writes are gathered into parts of `partBytes`; a full part is
 * uploaded while the next fills, and a write that fills a part while the previous one is
 * still uploading waits for it: that wait is what the recorder sees as a slow disk
 * (writableLength grows, the session is held back), so memory stays bounded per session.
 */
class MultipartWriter extends Writable {
  #uploadId: string | null = null;
  readonly #parts: CompletedPart[] = [];
  #uploaded = 0;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #inflight: Promise<void> | null = null;
  #completed = false;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly manifestKey: string,
    private readonly partBytes: number,
    private readonly sse: { ServerSideEncryption?: ServerSideEncryption; SSEKMSKeyId?: string },
    private readonly log: Logger | undefined,
  ) {
    super({ highWaterMark: 256 * 1024 });
  }

  /** The upload and its manifest exist before the first write completes: a bucket that refuses is known at session start. */
  override _construct(cb: (err?: Error | null) => void): void {
    (async () => {
      // Never replaces a recording (the directory store's 'wx'); names are per session UUID, so this only guards a bug.
      const there = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key })).then(() => true, (err: unknown) => {
        if (isMissing(err)) return false;
        throw err;
      });
      if (there) throw Object.assign(new Error('the recording exists already'), { code: 'EEXIST' });
      const r = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, ContentType: 'application/x-asciicast', ...this.sse }));
      if (!r.UploadId) throw new Error('the object store gave no upload id');
      this.#uploadId = r.UploadId;
      await this.#saveManifest();
    })().then(() => cb(), (err: unknown) => cb(asError(err)));
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    // Copied: once this write is acknowledged the caller may reuse its buffer (castWriter does).
    this.#chunks.push(Buffer.from(chunk));
    this.#bytes += chunk.length;
    if (this.#bytes < this.partBytes) return cb();
    const part = Buffer.concat(this.#chunks, this.#bytes);
    this.#chunks = [];
    this.#bytes = 0;
    const before = this.#inflight;
    if (!before) {
      this.#startPart(part);
      return cb();
    }
    // The previous part is still on its way: this write completes when it is through.
    before.then(() => {
      this.#startPart(part);
      cb();
    }, (err: unknown) => cb(asError(err)));
  }

  override _final(cb: (err?: Error | null) => void): void {
    (async () => {
      await this.#inflight;
      if (this.#bytes > 0 || this.#parts.length === 0) {
        const last = Buffer.concat(this.#chunks, this.#bytes);
        this.#chunks = [];
        this.#bytes = 0;
        await this.#uploadPart(last);
      }
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.#uploadId!, MultipartUpload: { Parts: this.#parts } }));
      this.#completed = true;
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.manifestKey })).catch((err: unknown) => {
        this.log?.warn({ err, key: this.manifestKey }, 'recording: its upload manifest could not be deleted');
      });
    })().then(() => cb(), (err: unknown) => cb(asError(err)));
  }

  /** Ended without finishing (a failure, a timeout): what was uploaded stays for recover(). */
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.#completed && this.#uploadId) this.log?.warn({ key: this.key, parts: this.#parts.length }, 'recording: upload left unfinished; recover() completes it with the parts uploaded');
    cb(err);
  }

  #startPart(part: Buffer): void {
    const p = this.#uploadPart(part);
    this.#inflight = p;
    p.then(() => {
      if (this.#inflight === p) this.#inflight = null;
    }, (err: unknown) => this.destroy(asError(err)));
  }

  async #uploadPart(body: Buffer): Promise<void> {
    const PartNumber = this.#parts.length + 1;
    const r = await this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.#uploadId!, PartNumber, Body: body }));
    this.#parts.push({ PartNumber, ETag: r.ETag! });
    this.#uploaded += body.length;
    await this.#saveManifest();
  }

  #saveManifest(): Promise<unknown> {
    const manifest: Manifest = { uploadId: this.#uploadId!, parts: this.#parts, bytes: this.#uploaded };
    return this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.manifestKey, Body: JSON.stringify(manifest), ContentType: 'application/json', ...this.sse }));
  }
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
