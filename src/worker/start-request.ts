/** The body of `POST /stream/start`, validated. */
import { ParamsValidationError, validateParams } from '../params';
import type { StartRequest } from '../stream/stream-handle';
import { parseHttpUrl } from '../util';

/** Why a gateway start without `subscribe_url` is refused: the input channel is the stream (pytrickle requires it too). */
export const SUBSCRIBE_URL_REQUIRED = 'subscribe_url is required: the trickle channel this worker reads the input video from (e.g. http://gateway:3389/ai/trickle/<stream>)';

/** Validates a start body (pydantic model of pytrickle: required `gateway_request_id`, extras ignored). */
export function parseStartRequest(body: unknown): StartRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('Request body must be a JSON object');
  const b = body as Record<string, unknown>;
  const id = b['gateway_request_id'];
  if (typeof id !== 'string' || id === '') throw new Error('gateway_request_id is required and must be a non-empty string');
  const out: StartRequest = { gateway_request_id: id, params: {} };
  for (const key of ['subscribe_url', 'publish_url', 'control_url', 'events_url', 'data_url'] as const) {
    const v = b[key];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string') throw new Error(`${key} must be a string`);
    if (!parseHttpUrl(v)) throw new Error(`${key} must be an http(s) URL (received ${JSON.stringify(v)})`);
    out[key] = v;
  }
  if (b['params'] !== undefined && b['params'] !== null) {
    try {
      out.params = validateParams(b['params']);
    } catch (err) {
      if (err instanceof ParamsValidationError) throw new Error(err.message);
      throw err;
    }
  }
  return out;
}
