/**
 * A live video session served through a go-livepeer orchestrator's session proxy. The proxy adds
 * `Livepeer-Session-Id`, `Livepeer-Session-Token` and `Livepeer-Session-Control` to every request
 * of the session; `POST {app_url}/stream/start` then:
 *
 * 1. creates the session's trickle channels with the callback `POST {control}/channels`
 *    (`Livepeer-Session-Token`): `input` (`video/MP2T`, the client publishes MPEG-TS there),
 *    `output` (`video/MP2T`), `control`, `events` (`application/json`) and `data`
 *    (`application/jsonl`);
 * 2. starts the stream on their runner-facing URLs (`internal_url`, else `url`);
 * 3. answers with their public URLs: `input_url`, `output_url`, `control_url`, `events_url`,
 *    `data_url`.
 *
 * When the stream ends by itself, the runner releases the session (`POST {control}/stop`) so that
 * the orchestrator frees its capacity.
 */
import { ErrorCodes, TrickleError } from '../errors';
import { peerRequest } from '../trickle/peer-request';
import { createPeerAgent, resolveTls, type TlsOptions } from '../trickle/tls';

/** The session headers of a proxied request, when they are all there. */
export interface SessionHeaders {
  id: string;
  token: string;
  control: string;
}

export function sessionHeaders(headers: Record<string, string | undefined>): SessionHeaders | undefined {
  const id = headers['livepeer-session-id'];
  const token = headers['livepeer-session-token'];
  const control = headers['livepeer-session-control'];
  if (!id || !token || !control) return undefined;
  return { id, token, control };
}

const CHANNELS = [
  { name: 'input', mime_type: 'video/MP2T', key: 'subscribe_url', publicKey: 'input_url' },
  { name: 'output', mime_type: 'video/MP2T', key: 'publish_url', publicKey: 'output_url' },
  { name: 'control', mime_type: 'application/json', key: 'control_url', publicKey: 'control_url' },
  { name: 'events', mime_type: 'application/json', key: 'events_url', publicKey: 'events_url' },
  { name: 'data', mime_type: 'application/jsonl', key: 'data_url', publicKey: 'data_url' },
] as const;

export interface SessionChannels {
  /** Runner-facing URLs, as a start request's channel fields. */
  worker: { subscribe_url: string; publish_url: string; control_url: string; events_url: string; data_url: string };
  /** Public URLs for the client. */
  client: { input_url: string; output_url: string; control_url: string; events_url: string; data_url: string };
}

async function callback(session: SessionHeaders, path: string, method: string, body: unknown, tls: TlsOptions | false | undefined): Promise<{ status: number; body: string }> {
  const url = `${session.control.replace(/\/+$/, '')}${path}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, `Livepeer-Session-Control is not a URL: ${JSON.stringify(session.control)}`);
  }
  const agent = createPeerAgent(parsed, resolveTls(tls), false);
  try {
    return await peerRequest(url, {
      method,
      agent,
      headers: { 'Livepeer-Session-Token': session.token, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      timeoutMs: 10_000,
    });
  } finally {
    agent.destroy();
  }
}

/** Creates the five channels of a session; throws ERR_TRICKLE_HTTP / ERR_TRICKLE_NETWORK with the reason. */
export async function createSessionChannels(session: SessionHeaders, tls?: TlsOptions | false): Promise<SessionChannels> {
  let reply: { status: number; body: string };
  try {
    reply = await callback(session, '/channels', 'POST', { channels: CHANNELS.map(({ name, mime_type }) => ({ name, mime_type })) }, tls);
  } catch (err) {
    if (err instanceof TrickleError) throw err;
    throw new TrickleError(ErrorCodes.ERR_TRICKLE_NETWORK, `creating the session's channels failed: ${(err as Error).message}`, { cause: err });
  }
  if (reply.status !== 200) {
    throw new TrickleError(ErrorCodes.ERR_TRICKLE_HTTP, `creating the session's channels failed: HTTP ${reply.status} ${reply.body.trim().slice(0, 200)}`);
  }
  let list: Array<{ name?: unknown; url?: unknown; internal_url?: unknown }>;
  try {
    list = (JSON.parse(reply.body) as { channels: typeof list }).channels;
    if (!Array.isArray(list)) throw new Error('no channels array');
  } catch (err) {
    throw new TrickleError(ErrorCodes.ERR_TRICKLE_HTTP, `the orchestrator's channel answer is not usable: ${(err as Error).message}`);
  }
  const worker: Record<string, string> = {};
  const client: Record<string, string> = {};
  for (const ch of CHANNELS) {
    const got = list.find((c) => c.name === ch.name);
    if (!got || typeof got.url !== 'string') throw new TrickleError(ErrorCodes.ERR_TRICKLE_HTTP, `the orchestrator did not create the session's ${ch.name} channel`);
    worker[ch.key] = typeof got.internal_url === 'string' && got.internal_url !== '' ? got.internal_url : got.url;
    client[ch.publicKey] = got.url;
  }
  return { worker: worker as SessionChannels['worker'], client: client as SessionChannels['client'] };
}

/** Releases the session (`POST {control}/stop`); best effort, resolves whether it was released. */
export async function releaseSession(session: SessionHeaders, tls?: TlsOptions | false): Promise<boolean> {
  try {
    const reply = await callback(session, '/stop', 'POST', undefined, tls);
    return reply.status === 204 || reply.status === 200;
  } catch {
    return false;
  }
}
