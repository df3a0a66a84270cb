/**
 * The TLS policy of every connection trickle-rt opens to a Livepeer peer: trickle channels,
 * capability registration, live-runner heartbeats and session callbacks.
 *
 * go-livepeer serves HTTPS with a self-signed certificate that it generates anew at every start
 * (empty subject, the service host as its only name). Its own clients, pytrickle and
 * livepeer-python-gateway therefore connect without verifying it, and so does trickle-rt by
 * default. Verification is opt-in: a PEM file holding either a CA bundle or the orchestrator's own
 * certificate. A certificate listed in the file is accepted whatever host name it was reached by
 * (pinning; go-livepeer's certificate never names an IP); any other certificate must chain to one
 * in the file and match the host name.
 *
 * Sources, first match wins: the `tls` option (`false` = never verify), then the environment
 * variable `TRICKLE_TLS_CA` (a file path), then no verification.
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions } from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { X509Certificate } from 'node:crypto';

import { ErrorCodes, invalidArg, TrickleError } from '../errors';

/** The environment variable naming a PEM file to verify peers against. */
export const TLS_CA_ENV = 'TRICKLE_TLS_CA';

/** How to check the certificate of an https peer. */
export interface TlsOptions {
  /** Path of a PEM file: a CA bundle, or the orchestrator's own certificate (pinned). */
  caFile?: string;
  /** The same as PEM text or bytes (instead of `caFile`). */
  ca?: string | Uint8Array;
}

/** A resolved policy: `verify: false` accepts any certificate. */
export type TlsPolicy = { verify: false } | { verify: true; ca: string; pinned: ReadonlySet<string>; source: string };

const NO_VERIFY: TlsPolicy = Object.freeze({ verify: false });

/**
 * Resolves the policy: `false` → no verification; an object with `caFile`/`ca` → verify against it;
 * `undefined` (or an empty object) → env `TRICKLE_TLS_CA` if set, else no verification. Throws
 * ERR_INVALID_ARG when the file cannot be read or holds no certificate.
 */
export function resolveTls(options: TlsOptions | false | undefined, env: NodeJS.ProcessEnv = process.env): TlsPolicy {
  if (options === false) return NO_VERIFY;
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidArg('tls', 'false or { caFile } / { ca }', options);
  if (options?.ca !== undefined) {
    const text = typeof options.ca === 'string' ? options.ca : Buffer.from(options.ca).toString('utf8');
    return policyFromPem(text, 'tls.ca');
  }
  const file = options?.caFile ?? (env[TLS_CA_ENV] || undefined);
  if (file === undefined) return NO_VERIFY;
  if (typeof file !== 'string' || file === '') throw invalidArg('tls.caFile', 'a path to a PEM file', file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, `Cannot read the TLS certificate file ${file}: ${(err as Error).message}`, { cause: err });
  }
  return policyFromPem(text, file);
}

function policyFromPem(text: string, source: string): TlsPolicy {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const pinned = new Set<string>();
  for (const block of blocks) {
    try {
      pinned.add(new X509Certificate(block).fingerprint256);
    } catch (err) {
      throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, `${source} holds a certificate that cannot be parsed: ${(err as Error).message}`, { cause: err });
    }
  }
  if (pinned.size === 0) throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, `${source} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)`);
  return { verify: true, ca: blocks.join('\n'), pinned, source };
}

/** Options for an https Agent or request that apply the policy. */
export function tlsConnectOptions(policy: TlsPolicy): Pick<HttpsAgentOptions, 'rejectUnauthorized' | 'ca' | 'checkServerIdentity'> {
  if (!policy.verify) return { rejectUnauthorized: false };
  return {
    rejectUnauthorized: true,
    ca: policy.ca,
    checkServerIdentity: (host: string, cert: PeerCertificate) => {
      // A certificate given in the file is trusted as itself, by whatever name it was reached.
      if (cert.fingerprint256 && policy.pinned.has(cert.fingerprint256)) return undefined;
      return checkServerIdentity(host, cert);
    },
  };
}

/** A keep-alive agent for `url`'s protocol, applying the policy when it is https. */
export function createPeerAgent(url: URL, policy: TlsPolicy, keepAlive = true): HttpAgent {
  const base = { keepAlive, keepAliveMsecs: 10_000, scheduling: 'lifo' as const };
  return url.protocol === 'https:' ? new HttpsAgent({ ...base, ...tlsConnectOptions(policy) }) : new HttpAgent(base);
}

/** One line for logs and docs: what the policy does. */
export function describeTls(policy: TlsPolicy): string {
  return policy.verify ? `verify against ${policy.source}` : 'no certificate verification (go-livepeer default)';
}

/**
 * True when `err` (or its cause) is a refused certificate: verification is on and the peer's
 * certificate does not pass. Not an outage: retrying cannot help.
 */
export function isCertificateError(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_/.test(code)) return true;
  }
  return false;
}
