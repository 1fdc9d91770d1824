/**
 * Canonical bytes and snapshot ids. Canonical bytes are the RFC 8785 (JCS)
 * JSON of the manifest's data exactly as written, minus `snapshot.sig`; so
 * TOML formatting never changes a snapshot's identity.
 */
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import type { Manifest } from './types.ts';

function withoutSig(m: Manifest): Manifest {
  if (m.snapshot?.sig === undefined) return m;
  const { sig: _sig, ...snapshot } = m.snapshot;
  return { ...m, snapshot: snapshot as Manifest['snapshot'] };
}

/** RFC 8785 JSON text of any JSON value. */
export function jcs(value: unknown): string {
  const s = canonicalize(value);
  if (s === undefined) throw new TypeError('value has no JSON form');
  return s;
}

export function canonicalBytes(m: Manifest): Uint8Array {
  return new TextEncoder().encode(jcs(withoutSig(m)));
}

/** Lowercase hex sha256 of the canonical bytes. */
export function snapshotId(m: Manifest): string {
  return createHash('sha256').update(canonicalBytes(m)).digest('hex');
}

/** Structural equality of JSON data (key order does not matter). */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return jcs(a) === jcs(b);
}
