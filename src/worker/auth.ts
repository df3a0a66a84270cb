/** Bearer-token check of the worker's routes (constant-time comparison). */
import { timingSafeEqual } from 'node:crypto';

/** True when `token` is unset, or the `authorization` header is `Bearer <token>`. */
export function bearerAuthorized(headers: Record<string, string | undefined>, token: string | undefined): boolean {
  if (token === undefined) return true;
  const header = headers['authorization'] ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!m) return false;
  const given = Buffer.from(m[1] as string);
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}
