/**
 * The one HTTP client of the web app: the only module that calls fetch.
 * Every request is same-origin JSON under /api/v1 with the session cookie.
 */

export const API_BASE = '/api/v1';

export interface ApiErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** An error answered by the API (or a network failure, status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(status: number, body: ApiErrorBody) {
    super(body.message);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.code;
    this.details = body.details ?? {};
  }

  /** The form field the error is about, when the API names one (`details.field`). */
  get field(): string | undefined {
    const f = this.details.field;
    return typeof f === 'string' && f !== 'body' && f !== 'query' ? f : undefined;
  }

  get reason(): string | undefined {
    const r = this.details.reason;
    return typeof r === 'string' ? r : undefined;
  }
}

export interface ListPage<T> {
  items: T[];
  total: number;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

type Listener = (error: ApiError, path: string) => void;
const listeners = new Set<Listener>();

/** Hear about every failed call: the session layer uses it for expiry (401) and forced password change (403). */
export function onApiError(listener: Listener): () => void {
  listeners.add(listener);
  return () => { listeners.delete(listener); };
}

export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

async function request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  const mutating = method !== 'GET';
  const headers: Record<string, string> = { Accept: 'application/json' };
  // The API refuses mutating requests that are not application/json (415), even empty ones.
  if (mutating) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(API_BASE + path + queryString(query), {
      method,
      headers,
      credentials: 'same-origin',
      body: mutating ? JSON.stringify(body ?? {}) : undefined,
    });
  } catch {
    const error = new ApiError(0, { code: 'network_error', message: 'The server cannot be reached.' });
    listeners.forEach((l) => l(error, path));
    throw error;
  }
  const text = await res.text();
  let parsed: unknown = null;
  if (text) {
    try { parsed = JSON.parse(text); } catch { parsed = null; }
  }
  if (!res.ok) {
    const err = (parsed as { error?: ApiErrorBody } | null)?.error;
    const error = new ApiError(res.status, err ?? { code: 'http_' + res.status, message: res.statusText || 'Request failed' });
    listeners.forEach((l) => l(error, path));
    throw error;
  }
  return parsed as T;
}

/** A non-JSON answer (a recording) as text; failures are ApiErrors like any other call. */
async function requestText(path: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(API_BASE + path, { credentials: 'same-origin' });
  } catch {
    const error = new ApiError(0, { code: 'network_error', message: 'The server cannot be reached.' });
    listeners.forEach((l) => l(error, path));
    throw error;
  }
  if (!res.ok) {
    let body: ApiErrorBody | undefined;
    try { body = ((await res.json()) as { error?: ApiErrorBody }).error; } catch { body = undefined; }
    const error = new ApiError(res.status, body ?? { code: 'http_' + res.status, message: res.statusText || 'Request failed' });
    listeners.forEach((l) => l(error, path));
    throw error;
  }
  return res.text();
}

export const api = {
  get: <T>(path: string, query?: Query) => request<T>('GET', path, undefined, query),
  getText: (path: string) => requestText(path),
  post: <T>(path: string, body: unknown = {}) => request<T>('POST', path, body),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  put: <T>(path: string, body: unknown = {}) => request<T>('PUT', path, body),
  delete: (path: string, query?: Query) => request<void>('DELETE', path + queryString(query), {}),
};

export interface Upload<T> {
  /** Resolves with the answer once the whole body is sent and answered; rejects with an ApiError (status 0 when cancelled or cut). */
  done: Promise<T>;
  cancel(): void;
}

/**
 * Sends a file as the raw body (application/octet-stream) of a PUT, streamed by the browser from
 * disk, with progress: the one non-JSON request of the app (the web file manager's upload).
 * XMLHttpRequest, because fetch reports no upload progress.
 */
export function uploadFile<T>(path: string, query: Query, file: Blob, onProgress: (sent: number, total: number) => void): Upload<T> {
  const xhr = new XMLHttpRequest();
  const done = new Promise<T>((resolve, reject) => {
    xhr.open('PUT', API_BASE + path + queryString(query));
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    const fail = (status: number, body: ApiErrorBody) => {
      const error = new ApiError(status, body);
      listeners.forEach((l) => l(error, path));
      reject(error);
    };
    xhr.onload = () => {
      let parsed: unknown = null;
      try { parsed = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch { parsed = null; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(parsed as T);
      else fail(xhr.status, (parsed as { error?: ApiErrorBody } | null)?.error ?? { code: 'http_' + xhr.status, message: xhr.statusText || 'Request failed' });
    };
    xhr.onerror = () => fail(0, { code: 'network_error', message: 'The server cannot be reached.' });
    xhr.onabort = () => reject(new ApiError(0, { code: 'cancelled', message: 'Cancelled.' }));
    xhr.send(file);
  });
  return { done, cancel: () => xhr.abort() };
}

/** Maps a list answer item by item with a resource's make<Thing>. */
export function mapPage<J, T>(page: ListPage<J>, make: (j: J) => T): ListPage<T> {
  return { items: (page.items ?? []).map(make), total: page.total ?? page.items?.length ?? 0 };
}

/** The URL of an API resource with a query, for plain links (CSV downloads) that the browser follows with the session cookie. */
export function apiUrl(path: string, query?: Query): string {
  return API_BASE + path + queryString(query);
}

/** The websocket URL of a same-origin path (ws: or wss: as the page). */
export function wsUrl(path: string): string {
  const { protocol, host } = globalThis.location;
  return `${protocol === 'https:' ? 'wss:' : 'ws:'}//${host}${path}`;
}
