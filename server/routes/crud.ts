import { z } from 'zod';
import type { Actor } from '../../core/actor.ts';
import type { Services } from '../../core/services.ts';
import type { Ability } from '../../core/access/accessService.ts';
import { idParams, pageOf } from './common.ts';
import { route, type AnyRoute } from './define.ts';

interface CrudService<T, C, U, Q> {
  list(q: Q): Promise<{ items: T[]; total: number }>;
  get(id: string): Promise<T>;
  create(actor: Actor, input: C): Promise<T>;
  update(actor: Actor, id: string, patch: U): Promise<T>;
  remove(actor: Actor, id: string): Promise<void>;
}

interface CrudSpec<T, CS extends z.ZodType, US extends z.ZodType, QS extends z.ZodType> {
  base: string;
  tag: string;
  noun: string;
  access?: Ability;
  service: (s: Services) => CrudService<T, z.infer<CS>, z.infer<US>, z.infer<QS>>;
  present: (t: T) => unknown;
  createBody: CS;
  patchBody: US;
  listQuery: QS;
}

/** List, get, create, update (PATCH with changed fields) and delete for one admin resource. */
export function crudRoutes<T, CS extends z.ZodType, US extends z.ZodType, QS extends z.ZodType>(spec: CrudSpec<T, CS, US, QS>): AnyRoute[] {
  const access = spec.access ?? 'manage';
  const { base, tag, noun, present } = spec;
  return [
    route({
      method: 'get', path: base, tag, access, summary: `List ${noun}s`, query: spec.listQuery,
      handler: async ({ query, services }) => pageOf(await spec.service(services).list(query), present),
    }),
    route({
      method: 'post', path: base, tag, access, summary: `Create a ${noun}`, status: 201, body: spec.createBody,
      handler: async ({ body, actor, services }) => present(await spec.service(services).create(actor, body)),
    }),
    route({
      method: 'get', path: `${base}/:id`, tag, access, summary: `Get a ${noun}`, params: idParams,
      handler: async ({ params, services }) => present(await spec.service(services).get(params.id)),
    }),
    route({
      method: 'patch', path: `${base}/:id`, tag, access, summary: `Change fields of a ${noun}`, params: idParams, body: spec.patchBody,
      handler: async ({ params, body, actor, services }) => present(await spec.service(services).update(actor, params.id, body)),
    }),
    route({
      method: 'delete', path: `${base}/:id`, tag, access, summary: `Delete a ${noun}`, params: idParams,
      handler: async ({ params, actor, services }) => { await spec.service(services).remove(actor, params.id); },
    }),
  ];
}

/** A PATCH body: every field optional, at least one present, unknown fields refused. */
export function patchOf<S extends z.ZodObject>(schema: S) {
  return schema.partial().strict().refine((o: object) => Object.keys(o).length > 0, { message: 'nothing to change', params: { reason: 'nothing_to_change' } });
}
