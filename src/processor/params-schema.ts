/**
 * A processor's own params validation, run by the worker before params reach a frame: on
 * `/stream/start` (its `params`), on `/stream/params` and on control-channel updates. A bad value is
 * answered with 400 (HTTP) or an `error` event (control channel) and the stream keeps its current
 * params. Two forms are accepted:
 *
 * - any Standard Schema validator (zod ≥ 3.24, valibot ≥ 1, arktype, …): an object with a
 *   `~standard` property whose `validate(value)` returns `{ value }` or `{ issues }`;
 * - a plain function that returns the (possibly converted) params, or throws with a message.
 *
 * The schema sees the processor's own keys together with the worker's (`width`, `height`,
 * `max_framerate`, …), so an object schema should let unknown keys pass (zod's default `.object()`
 * strips them; use `.passthrough()`, or validate only your keys).
 *
 * @example
 * // zod
 * paramsSchema: z.object({ gain: z.number().min(0).max(4).default(1) }).passthrough()
 * // a function
 * paramsSchema: (p) => {
 *   if (p.gain !== undefined && typeof p.gain !== 'number') throw new Error('gain must be a number');
 *   return p;
 * }
 */
import { ErrorCodes, TrickleError } from '../errors';

/** One problem reported by a Standard Schema validator. */
export interface StandardSchemaIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>;
}

/** The shape of a Standard Schema (version 1) validator, as far as the worker uses it. */
export interface StandardSchema<Output = unknown> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (
      value: unknown,
    ) => { readonly value: Output; readonly issues?: undefined } | { readonly issues: ReadonlyArray<StandardSchemaIssue> } | Promise<
      { readonly value: Output; readonly issues?: undefined } | { readonly issues: ReadonlyArray<StandardSchemaIssue> }
    >;
  };
}

/** A plain validation function: returns the params to use, or throws with the reason. */
export type ParamsValidator = (params: Record<string, unknown>) => Record<string, unknown> | Promise<Record<string, unknown>>;

/** What a processor may declare as `paramsSchema`. */
export type ParamsSchema = StandardSchema<Record<string, unknown>> | ParamsValidator;

function isStandardSchema(value: unknown): value is StandardSchema {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  const std = (value as Record<string, unknown>)['~standard'];
  return typeof std === 'object' && std !== null && typeof (std as { validate?: unknown }).validate === 'function';
}

/** True for something usable as a params schema. */
export function isParamsSchema(value: unknown): value is ParamsSchema {
  return isStandardSchema(value) || typeof value === 'function';
}

function pathText(path: StandardSchemaIssue['path']): string {
  if (!path || path.length === 0) return '';
  return path.map((p) => String(typeof p === 'object' && p !== null && 'key' in p ? p.key : p)).join('.');
}

/**
 * Validates `params` with `schema`. Resolves to the params to use (a validator may convert or add
 * defaults); rejects with TrickleError ERR_INVALID_PARAM whose message lists each issue as
 * `key: message`.
 */
export async function applyParamsSchema(schema: ParamsSchema, params: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (isStandardSchema(schema)) {
    const result = await schema['~standard'].validate(params);
    if (result.issues) {
      const text = result.issues.map((i) => {
        const where = pathText(i.path);
        return where ? `${where}: ${i.message}` : i.message;
      });
      throw new TrickleError(ErrorCodes.ERR_INVALID_PARAM, text.join('; ') || 'invalid params');
    }
    const value = result.value;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new TrickleError(ErrorCodes.ERR_INVALID_PARAM, 'the params schema must produce an object');
    }
    return value as Record<string, unknown>;
  }
  let out: Record<string, unknown>;
  try {
    out = await schema(params);
  } catch (err) {
    if (err instanceof TrickleError && err.code === ErrorCodes.ERR_INVALID_PARAM) throw err;
    throw new TrickleError(ErrorCodes.ERR_INVALID_PARAM, err instanceof Error ? err.message : String(err), { cause: err });
  }
  if (out === undefined) return params;
  if (typeof out !== 'object' || out === null || Array.isArray(out)) {
    throw new TrickleError(ErrorCodes.ERR_INVALID_PARAM, 'the params validator must return an object (or nothing to keep the params as given)');
  }
  return out;
}
