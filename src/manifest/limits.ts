/**
 * How big a manifest may be (docs/manifest.md §1, "Limits"). One table for
 * every reader: `parse` enforces them, the server caps a POST body with
 * `MAX_MANIFEST_BYTES`. Why these numbers: see the spec.
 */

/** Bytes of the UTF-8 text. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Steps on the path from the document root to any value (`apps.snap[2].channel` is 4). */
export const MAX_MANIFEST_DEPTH = 32;

/** Parts of keys and table headers (`a.b = 1` is 2) and array elements, counted together. */
export const MAX_MANIFEST_ENTRIES = 50_000;

/** Table headers (`[a]`, `[[a]]`), the costliest entries to build. */
export const MAX_MANIFEST_TABLES = 10_000;
