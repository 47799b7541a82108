// Recordings as objects in an S3-compatible bucket: <prefix>/YYYY/MM/DD/<uuid>.cast, the
// segment sidecar beside each as <uuid>.cast.seg.
//
// A live recording is one multipart upload, a part every `partBytes`. The write that fills a
// part is acknowledged only once that part is in the bucket and the upload's manifest names
// it, so at most one part is ever on its way and nothing after it is taken meanwhile: a
// gateway that dies (killed, host lost) loses at most the last part — the one being filled,
// or the one on its way — never two. The manifest (<prefix>/uploads/YYYY/MM/DD/<uuid>.cast: upload
// id and the parts done so far, rewritten after each part) lets recover() complete the upload
// later from any process: many S3-compatible servers do not list multipart uploads, and none
// lets a part be read before the upload is completed. Manifests sit under their own prefix so
// that unfinished() lists only them, and the process that sweeps abandoned sessions completes
// them eagerly (SessionService.completeAbandoned). Until then the recording is not readable
// (stat is null); the live view asks the writing process instead (RecordingWriter.written).
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
import { asRecordingName, notFound, type ByteRange, type RecordingInfo, type RecordingName, type RecordingStore, type RecordingUsage, type RecordingWriter, type Recovery } from './recordingStore.ts';

export type S3Location = Extract<RecordingsLocation, { kind: 's3' }>;

/** Listing the whole bucket for the dashboard stops after this many pages (1000 objects each). */
const MAX_LIST_PAGES = 1000;
/** Upload manifests live under <prefix>/uploads/ (a recording name starts with its year, so none is taken for one). */
const UPLOADS = 'uploads/';

interface Manifest {
  uploadId: string;
  parts: CompletedPart[];
  /** Bytes in those parts: what recover() makes readable. */
  bytes: number;
}

export class S3RecordingStore implements RecordingStore {
  readonly kind = 's3';
  readonly location: string;
  readonly readableWhileWriting = false;
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

  /** Where the upload manifest of a recording being written sits. */
  #manifestKey(name: RecordingName): string {
    return `${this.#prefix}${UPLOADS}${name}`;
  }

  create(name: RecordingName): RecordingWriter {
    return new MultipartWriter(this.#client, this.#bucket, this.#key(name), this.#manifestKey(name), this.#partBytes, this.#sse, this.#log);
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
    for (const key of [this.#key(name), this.#key(name, '.seg'), this.#manifestKey(name)]) {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
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

  async recover(name: RecordingName): Promise<Recovery> {
    const manifest = await this.#manifest(name);
    if (!manifest) return 'none';
    const key = this.#key(name);
    let outcome: Recovery = manifest.parts.length === 0 ? 'empty' : 'recovered';
    if (manifest.parts.length === 0) {
      await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: manifest.uploadId })).catch(() => undefined);
    } else {
      try {
        await this.#client.send(new CompleteMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: manifest.uploadId, MultipartUpload: { Parts: manifest.parts } }));
      } catch (err) {
        // Completed meanwhile by its writer (which then failed to delete the manifest), or by another process: the object is there.
        if (await this.#head(key)) outcome = 'none';
        // The upload is gone (aborted, or expired by a bucket lifecycle rule) and its parts with it: nothing left to complete.
        else if ((err as { name?: string }).name === 'NoSuchUpload') outcome = 'empty';
        else throw err;
      }
    }
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#manifestKey(name) }));
    if (outcome !== 'none') this.#log?.warn({ recording: name, parts: manifest.parts.length, bytes: manifest.bytes }, 'recording: a multipart upload left by a stopped gateway was completed with the parts it had uploaded');
    return outcome;
  }

  async unfinished(): Promise<RecordingName[]> {
    const names: RecordingName[] = [];
    const prefix = `${this.#prefix}${UPLOADS}`;
    let token: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const r = await this.#client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of r.Contents ?? []) {
        const name = o.Key ? asRecordingName(o.Key.slice(prefix.length)) : null;
        if (name) names.push(name);
      }
      if (!r.IsTruncated || !r.NextContinuationToken) break;
      token = r.NextContinuationToken;
    }
    return names;
  }

  async #manifest(name: RecordingName): Promise<Manifest | null> {
    try {
      const r = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#manifestKey(name) }));
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
 * One recording being uploaded. Writes are gathered into parts of `partBytes`. The write that
 * fills a part is acknowledged once the part is uploaded and the manifest names it; until then
 * later writes wait in the stream's buffer (what the recorder sees as a slow disk: writableLength
 * grows, the session is held back). So a crash loses at most one part, and memory stays bounded.
 */
class MultipartWriter extends Writable implements RecordingWriter {
  #uploadId: string | null = null;
  readonly #parts: CompletedPart[] = [];
  #uploaded = 0;
  /** The part being filled: the bytes from #tailStart on, held in memory. */
  #chunks: Buffer[] = [];
  /** Bytes cut into parts (uploaded, or the one on its way). */
  #tailStart = 0;
  #bytes = 0;
  #completed = false;
  #onPart: ((start: number, data: Buffer) => void) | null = null;
  #waiters: { upTo: number; resolve: (r: { start: number; data: Readable }) => void; reject: (err: Error) => void }[] = [];

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

  onPart(fn: (start: number, data: Buffer) => void): void {
    this.#onPart = fn;
  }

  written(upTo: number): Promise<{ start: number; data: Readable }> {
    if (this.destroyed || this.writableFinished) return Promise.reject(new Error('the recording is no longer being written'));
    return new Promise((resolve, reject) => {
      this.#waiters.push({ upTo, resolve, reject });
      this.#answer();
    });
  }

  /** Hands waiting readers their bytes once taken; called before a full part leaves memory, so what they need is still here. */
  #answer(): void {
    if (this.#waiters.length === 0) return;
    const taken = this.#tailStart + this.#bytes;
    const ready = this.#waiters.filter((w) => w.upTo <= taken);
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.upTo > taken);
    const tail = Buffer.concat(this.#chunks, this.#bytes);
    for (const w of ready) {
      w.resolve({ start: this.#tailStart, data: Readable.from([tail.subarray(0, Math.max(0, w.upTo - this.#tailStart))]) });
    }
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
    this.#answer();
    if (this.#bytes < this.partBytes) return cb();
    const start = this.#tailStart;
    const part = this.#cut();
    this.#onPart?.(start, part);
    // Acknowledged only once the part is in the bucket and named by the manifest: nothing after it is taken before.
    this.#uploadPart(part).then(() => cb(), (err: unknown) => cb(asError(err)));
  }

  /** The part being filled, taken out of memory. */
  #cut(): Buffer {
    const part = Buffer.concat(this.#chunks, this.#bytes);
    this.#chunks = [];
    this.#tailStart += this.#bytes;
    this.#bytes = 0;
    return part;
  }

  override _final(cb: (err?: Error | null) => void): void {
    (async () => {
      if (this.#bytes > 0 || this.#parts.length === 0) await this.#uploadPart(this.#cut());
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
    for (const w of this.#waiters.splice(0)) w.reject(err ?? new Error('the recording is no longer being written'));
    cb(err);
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
