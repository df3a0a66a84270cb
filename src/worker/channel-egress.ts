/**
 * Where a start request may send the worker: the egress rule for channel URLs. Without it, anyone
 * who can start a stream makes the worker GET/POST/DELETE any host and port of their choosing.
 *
 * A channel URL is allowed when its origin (`scheme://host:port`) is on the allow-list (the
 * configured origins plus the orchestrator the worker registered with), or when its host resolves
 * to the address the start request came from (the orchestrator that started the stream; any
 * scheme and port, since the trickle server listens on another port than the one the request
 * came from). Requests made in-process (no peer address) are trusted.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

import { invalidArg } from '../errors';
import type { StartRequest } from '../stream/stream-handle';
import { parseHttpUrl } from '../util';

const CHANNEL_KEYS = ['subscribe_url', 'publish_url', 'control_url', 'events_url', 'data_url'] as const;

/** How long a channel host's name may take to resolve before the URL counts as not allowed. */
const LOOKUP_TIMEOUT_MS = 2000;

/** Normalises an allow-list entry to a URL origin; throws ERR_INVALID_ARG for anything but an http(s) origin. */
export function normaliseOrigin(entry: string): string {
  const url = parseHttpUrl(entry);
  if (!url) throw invalidArg('allowed channel origin', 'an http(s) origin such as https://orchestrator:8935', entry);
  if (url.pathname !== '/' && url.pathname !== '') {
    throw invalidArg('allowed channel origin', 'an http(s) origin such as https://orchestrator:8935 (no path)', entry);
  }
  return url.origin;
}

/** `::ffff:10.0.0.1` → `10.0.0.1`; `[::1]` → `::1`. */
function plainAddress(address: string): string {
  const a = address.replace(/^\[|\]$/g, '');
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

async function addressesOf(hostname: string): Promise<string[]> {
  const host = plainAddress(hostname);
  if (isIP(host)) return [host];
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('lookup timed out')), LOOKUP_TIMEOUT_MS);
    });
    const found = await Promise.race([lookup(host, { all: true }), timeout]);
    return found.map((f) => plainAddress(f.address));
  } catch {
    return [];
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The first channel URL of `start` the rule refuses, with the reason; undefined when all are allowed.
 *
 * @example
 * await refusedChannelUrl(start, '10.0.0.5', new Set(['https://orch:8935'])); // → undefined or a reason
 */
export async function refusedChannelUrl(start: StartRequest, peer: string | undefined, allowedOrigins: ReadonlySet<string>): Promise<string | undefined> {
  if (peer === undefined) return undefined;
  const from = plainAddress(peer);
  for (const key of CHANNEL_KEYS) {
    const value = start[key];
    if (value === undefined) continue;
    const url = new URL(value);
    if (allowedOrigins.has(url.origin)) continue;
    if ((await addressesOf(url.hostname)).includes(from)) continue;
    return `${key} points at ${url.origin}, which is neither the address this request came from nor an allowed channel origin`;
  }
  return undefined;
}
