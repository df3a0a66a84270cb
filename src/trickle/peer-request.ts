/**
 * One small HTTP(S) request to a Livepeer peer (orchestrator registration, live-runner heartbeats
 * and session callbacks) under the TLS policy of src/trickle/tls.ts. Bodies are small: the reply is
 * read as text, at most 1 MiB kept.
 */
import type { Agent, IncomingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';

import { readText, startRequest } from './http-client';

export interface PeerReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** SHA-256 fingerprint of the peer's certificate (https only). */
  certFingerprint?: string;
}

export interface PeerRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** The agent carrying the TLS policy (see `createPeerAgent`). */
  agent: Agent;
  /** Whole-request timeout (default 10 000 ms). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Sends the request; rejects on a network error, a timeout or an abort; resolves for any status. */
export function peerRequest(url: string, options: PeerRequestOptions): Promise<PeerReply> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])];
  const headers: Record<string, string> = { ...options.headers };
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
  if (body !== undefined) headers['Content-Length'] = String(body.byteLength);
  return new Promise((resolve, reject) => {
    const req = startRequest(url, { method: options.method ?? 'GET', agent: options.agent, headers, signal: AbortSignal.any(signals) });
    req.on('response', (res) => {
      const socket = res.socket as Partial<TLSSocket> | null;
      const cert = typeof socket?.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
      readText(res, 1024 * 1024).then(
        (text) => {
          const reply: PeerReply = { status: res.statusCode ?? 0, headers: res.headers, body: text };
          if (cert?.fingerprint256) reply.certFingerprint = cert.fingerprint256;
          resolve(reply);
        },
        reject,
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}
