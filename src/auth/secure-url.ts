/**
 * The transport rule of every client: HTTPS, or plain HTTP only to this
 * machine (127.0.0.0/8, ::1, localhost) where no one else is on the wire.
 */
import { isIP } from 'node:net';
import { AuthError } from './errors.ts';

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/** Parses and checks a server URL; returns its normalized origin-based URL (no trailing slash). */
export function checkServerUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    throw new AuthError('insecure_url', `not a URL: ${String(input)}`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url;
  throw new AuthError('insecure_url', `refusing ${url.protocol}//${url.host}: use https (plain http is only allowed to this machine)`);
}

/** The key a server is known by (token files, config): origin + path without trailing slash. */
export function serverKey(input: string | URL): string {
  const u = checkServerUrl(input);
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}
