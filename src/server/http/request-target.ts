/**
 * The request target, checked before anything routes on it.
 *
 * A WHATWG URL parser (`new URL`, fetch, browsers) resolves dot segments —
 * `.`, `..` and their percent-encoded spellings `%2e`, `.%2E`, `%2e%2e`, … —
 * turns `\` into `/`, drops tabs and newlines, and reads a leading `//` as an
 * authority: `DELETE /v1/me/snapshots/%2e%2e` became `DELETE /v1/me`. So the
 * server never lets such a parser choose a route: a target that one would
 * rewrite is refused with 400, and the route is chosen on the raw path.
 *
 * Accepted: origin-form (`/path?query`) and absolute-form (`http://host/path`,
 * reduced to its path and query, RFC 9112 §3.2.2). Refused: `*`, authority
 * form, a fragment, a control character, a space or a backslash, an empty
 * segment other than a trailing one, and any dot segment.
 */
import { BadRequestError } from '../errors.ts';

export interface RequestTarget {
  /** The raw (still percent-encoded) path, as the client sent it. */
  path: string;
  /** `?…` or ''. */
  query: string;
}

const ABSOLUTE = /^https?:\/\/[^/?#]*/i;
const FORBIDDEN = /[\x00-\x20\x7f\\#]/;
const DOTS = /^(?:\.|%2e){1,2}$/i;

export function parseRequestTarget(raw: string | undefined): RequestTarget {
  let target = raw ?? '';
  if (!target.startsWith('/')) {
    const m = ABSOLUTE.exec(target);
    if (!m) throw invalid('the request target must be a path');
    target = target.slice(m[0].length) || '/';
    if (!target.startsWith('/') && !target.startsWith('?')) throw invalid('the request target must be a path');
    if (target.startsWith('?')) target = `/${target}`;
  }
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q);
  if (FORBIDDEN.test(target)) throw invalid('the request target has a space, control character, backslash or fragment');
  const segs = path.slice(1).split('/');
  segs.forEach((s, i) => {
    if (DOTS.test(s)) throw invalid('the path has a "." or ".." segment (raw or percent-encoded)');
    if (s === '' && i < segs.length - 1) throw invalid('the path has an empty segment ("//")');
  });
  return { path, query };
}

function invalid(message: string): BadRequestError {
  return new BadRequestError('invalid_path', message);
}
