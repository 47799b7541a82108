import { z } from 'zod';
import type { AnyRoute } from './routes/define.ts';

/** The OpenAPI document, generated from the same zod schemas that validate requests. */
export function buildOpenApi(routes: AnyRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = '/api/v1' + r.path.replace(/:(\w+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', r.params], ['query', r.query]] as const) {
      if (!schema) continue;
      const json = toJson(schema) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, s] of Object.entries(json.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (json.required ?? []).includes(name), schema: s });
      }
    }
    const op: Record<string, unknown> = {
      tags: [r.tag],
      summary: r.summary,
      operationId: `${r.method}${r.path.replace(/[/:-](\w)/g, (_, c: string) => c.toUpperCase())}`,
      security: r.access === 'public' ? [] : [{ cookie: [] }, { bearer: [] }],
      parameters,
      responses: {
        [String(r.status ?? (r.method === 'delete' ? 204 : 200))]: { description: 'success' },
        '400': { $ref: '#/components/responses/Error' },
        ...(r.access === 'public' ? {} : { '401': { $ref: '#/components/responses/Error' }, '403': { $ref: '#/components/responses/Error' } }),
      },
      'x-role': r.access,
    };
    if (r.rawBody) op.requestBody = { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } };
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: toJson(r.body) } } };
    (paths[path] ??= {})[r.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Bastion API', version: '1', description: 'Jump server administration, access and audit API. Errors are {"error": {"code", "message", "details"}} where details.reason is a stable reason code (core/errorReasons.ts) that clients translate; lists are {"items", "total"}.' },
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: {
        cookie: { type: 'apiKey', in: 'cookie', name: 'bastion_session' },
        bearer: { type: 'http', scheme: 'bearer', description: 'A token from POST /api/v1/me/tokens' },
      },
      responses: {
        Error: {
          description: 'error',
          content: { 'application/json': { schema: { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } }, required: ['code', 'message'] } } } } },
        },
      },
    },
  };
}

function toJson(schema: z.ZodType): unknown {
  try {
    return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  } catch {
    return {};
  }
}
