/**
 * A certificate like the one go-livepeer makes at every start (server/cert.go): ECDSA P-256,
 * empty subject and issuer, the service host as its only DNS name. Made with the openssl CLI
 * (tests only), fresh for every call.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';

export interface SelfSignedCert {
  key: string;
  cert: string;
  /** SHA-256 fingerprint in Node's `AA:BB:…` form. */
  fingerprint256: string;
}

export function selfSignedCert(dnsName = 'localhost'): SelfSignedCert {
  const dir = mkdtempSync(join(tmpdir(), 'trickle-rt-cert-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/', '-addext', `subjectAltName=DNS:${dnsName}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const cert = readFileSync(certPath, 'utf8');
    return { key: readFileSync(keyPath, 'utf8'), cert, fingerprint256: new X509Certificate(cert).fingerprint256 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
