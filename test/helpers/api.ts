/** A small HTTP client that keeps the session cookie, as a browser would, for API tests. */
export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export class ApiClient {
  cookie: string | null = null;
  token: string | null = null;
  constructor(readonly baseUrl: string) {}

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const h: Record<string, string> = { ...headers };
    if (body !== undefined && !('content-type' in h)) h['content-type'] = 'application/json';
    if (this.cookie) h.cookie = this.cookie;
    if (this.token) h.authorization = `Bearer ${this.token}`;
    const res = await fetch(this.baseUrl + '/api/v1' + path, {
      method,
      headers: h,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const setCookie = res.headers.get('set-cookie');
    if (setCookie) {
      const m = /bastion_session=([^;]*)/.exec(setCookie);
      if (m) this.cookie = m[1] ? `bastion_session=${m[1]}` : null;
    }
    const text = await res.text();
    let parsed: unknown = text;
    try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  get<T = any>(path: string) { return this.request<T>('GET', path); }
  post<T = any>(path: string, body: unknown = {}) { return this.request<T>('POST', path, body); }
  patch<T = any>(path: string, body: unknown) { return this.request<T>('PATCH', path, body); }
  delete<T = any>(path: string) { return this.request<T>('DELETE', path); }

  async login(username: string, password: string, totp?: string): Promise<ApiResponse> {
    return this.post('/auth/login', totp ? { username, password, totp } : { username, password });
  }
}

/** Logs in and fails loudly, for test setup. */
export async function loggedIn(baseUrl: string, username: string, password: string): Promise<ApiClient> {
  const c = new ApiClient(baseUrl);
  const r = await c.login(username, password);
  if (r.status !== 200) throw new Error(`login of ${username} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return c;
}
