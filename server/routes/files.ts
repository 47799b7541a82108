// The web file manager's API: browse, download, upload, mkdir, rename and delete on an asset,
// through the gateway's SFTP pipeline (gateway/webFiles). Who may do what is decided there, by
// core/access, exactly as for `sftp -P 2222 alice@web01@bastion`: the route only parses.
//
// Paths are absolute, as the system user sees them on the asset. The asset itself decides what
// its account may touch (symbolic links included); the bastion refuses only what cannot be a
// sensible name: NUL and other control characters, `.` and `..` components (so that the path in
// the FileTransfer row is the path acted on), components over 255 bytes, paths over 4096.
import { z } from 'zod';
import type { Request, Response } from 'express';
import { UnavailableError } from '../../core/errors.ts';
import type { FileSessions } from '../../gateway/webFiles/fileSessions.ts';
import type { FileSession, WebOperator } from '../../gateway/webFiles/fileSession.ts';
import { queryBool } from './common.ts';
import { RESPONDED, route, type AnyRoute, type HandlerContext } from './define.ts';

const MAX_PATH = 4096;
const MAX_COMPONENT_BYTES = 255;

type PathReason = 'path_too_long' | 'path_control_characters' | 'path_not_absolute' | 'path_dot_components' | 'path_name_too_long' | 'path_needs_name';

/** Why `path` is not a path the file manager sends to the asset (a stable reason and a message), or null. */
export function remotePathProblem(path: string, opts: { names: boolean }): { reason: PathReason; message: string } | null {
  if (path.length > MAX_PATH) return { reason: 'path_too_long', message: `is longer than ${MAX_PATH} characters` };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return { reason: 'path_control_characters', message: 'may not hold NUL or other control characters' };
  if (!path.startsWith('/')) return { reason: 'path_not_absolute', message: 'must be absolute (start with /)' };
  const parts = path.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '.' || p === '..')) return { reason: 'path_dot_components', message: 'may not hold . or .. components' };
  if (parts.some((p) => Buffer.byteLength(p) > MAX_COMPONENT_BYTES)) return { reason: 'path_name_too_long', message: `may not hold a name longer than ${MAX_COMPONENT_BYTES} bytes` };
  if (opts.names && (parts.length === 0 || path.endsWith('/'))) return { reason: 'path_needs_name', message: 'must end with the name of the file or directory' };
  return null;
}

/** A path to look at (`/` allowed). */
const remotePath = z.string().min(1, 'is required').superRefine((p, ctx) => {
  const problem = remotePathProblem(p, { names: false });
  if (problem) ctx.addIssue({ code: 'custom', message: problem.message, params: { reason: problem.reason } });
});
/** A path that names an entry to create, change or remove (not `/`, no trailing slash). */
const entryPath = z.string().min(1, 'is required').superRefine((p, ctx) => {
  const problem = remotePathProblem(p, { names: true });
  if (problem) ctx.addIssue({ code: 'custom', message: problem.message, params: { reason: problem.reason } });
});

const target = {
  asset: z.string().min(1, 'is required').max(255),
  systemUser: z.string().min(1).max(128).optional(),
};

const listQuery = z.object({ ...target, path: remotePath.optional() }).strict();
const pathQuery = z.object({ ...target, path: entryPath }).strict();
const uploadQuery = z.object({ ...target, path: entryPath, overwrite: queryBool }).strict();
const mkdirBody = z.object({ ...target, path: entryPath }).strict();
const renameBody = z.object({ ...target, from: entryPath, to: entryPath }).strict();

type Ctx = HandlerContext<unknown, unknown, unknown>;

function operatorOf(ctx: Ctx): WebOperator {
  return { user: ctx.auth.user, clientAddress: ctx.actor.clientAddress, log: ctx.services.log.child({ component: 'web-files', user: ctx.auth.user.username }) };
}

/** `Content-Disposition` for a download: an ASCII fallback and the exact UTF-8 name. */
export function attachmentHeader(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1) || 'download';
  const ascii = base.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(base)}`;
}

/** The file routes, served by `files` (the HTTP process's file sessions); without it they answer 503. */
export function fileRoutes(files: FileSessions | null): AnyRoute[] {
  const session = async (ctx: Ctx, q: { asset: string; systemUser?: string | undefined }): Promise<FileSession> => {
    if (!files) throw new UnavailableError('the file manager is not available on this server', { reason: 'file_manager_unavailable' });
    return files.get(operatorOf(ctx), q.asset, q.systemUser ?? null);
  };
  return [
    route({
      method: 'get', path: '/me/files', tag: 'files', access: 'self', query: listQuery,
      summary: 'List a directory on an asset (default: the system user\'s home), as the SSH gateway\'s SFTP would',
      handler: async (ctx) => {
        const fs = await session(ctx as Ctx, ctx.query);
        return fs.list(ctx.query.path ?? (await fs.home()));
      },
    }),
    route({
      method: 'get', path: '/me/files/download', tag: 'files', access: 'self', query: pathQuery,
      summary: 'Download a file (needs the download action); streamed, any size; a FileTransfer row is written',
      handler: async (ctx) => {
        const fs = await session(ctx as Ctx, ctx.query);
        const dl = await fs.download(ctx.query.path);
        const res: Response = ctx.res;
        res.status(200);
        res.setHeader('Content-Type', 'application/octet-stream');
        res.setHeader('Content-Length', String(dl.size));
        res.setHeader('Content-Disposition', attachmentHeader(ctx.query.path));
        // no-transform: the compression middleware leaves the bytes (and the Content-Length) alone.
        res.setHeader('Cache-Control', 'no-store, no-transform');
        const ok = await dl.pipeTo(res);
        // A download cut short must not look complete to the browser.
        if (ok) res.end();
        else res.destroy();
        return RESPONDED;
      },
    }),
    route({
      method: 'put', path: '/me/files/upload', tag: 'files', access: 'self', query: uploadQuery, rawBody: true, status: 201,
      summary: 'Upload a file (needs the upload action): the body (application/octet-stream) is streamed to the asset; a FileTransfer row is written',
      handler: async (ctx) => {
        const fs = await session(ctx as Ctx, ctx.query);
        const req: Request = ctx.req;
        const size = await fs.upload(ctx.query.path, req, ctx.query.overwrite ?? false);
        return { path: ctx.query.path, size };
      },
    }),
    route({
      method: 'post', path: '/me/files/mkdir', tag: 'files', access: 'self', body: mkdirBody, status: 201,
      summary: 'Create a directory (needs the upload action)',
      handler: async (ctx) => {
        await (await session(ctx as Ctx, ctx.body)).mkdir(ctx.body.path);
        return { path: ctx.body.path };
      },
    }),
    route({
      method: 'post', path: '/me/files/rename', tag: 'files', access: 'self', body: renameBody,
      summary: 'Rename or move a file or directory (needs the upload action); an existing target is not replaced',
      handler: async (ctx) => {
        await (await session(ctx as Ctx, ctx.body)).rename(ctx.body.from, ctx.body.to);
        return { path: ctx.body.to };
      },
    }),
    route({
      method: 'delete', path: '/me/files', tag: 'files', access: 'self', query: pathQuery,
      summary: 'Delete a file or an empty directory (needs the upload action)',
      handler: async (ctx) => {
        await (await session(ctx as Ctx, ctx.query)).remove(ctx.query.path);
      },
    }),
  ];
}
