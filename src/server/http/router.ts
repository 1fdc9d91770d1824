/**
 * A minimal router: `METHOD /path/:param` patterns, first match wins.
 * 405 when the path matches with another method; 404 when nothing matches.
 * Segments match exactly, one for one, after percent-decoding each alone: no
 * collapsing of `//` or a trailing `/`, no dot-segment resolution (the
 * request target was checked by request-target.ts), and a `:param` is never
 * empty.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, NotFoundError } from '../errors.ts';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  url: URL;
}

export type Handler = (ctx: RouteContext) => Promise<void>;

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
}

export class Router {
  private routes: Route[] = [];

  on(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, parts: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  /** Every route, as registered (`{ method, pattern }`), for tests that must cover them all. */
  list(): { method: string; pattern: string }[] {
    return this.routes.map((r) => ({ method: r.method, pattern: `/${r.parts.join('/')}` }));
  }

  /** Finds the handler for a request; throws 404/405 ApiErrors. */
  match(method: string, pathname: string): { handler: Handler; params: Record<string, string> } {
    const segs = pathname.split('/').slice(1);
    let pathMatched = false;
    for (const r of this.routes) {
      const params = matchParts(r.parts, segs);
      if (!params) continue;
      pathMatched = true;
      if (r.method === method || (method === 'HEAD' && r.method === 'GET' && !this.hasExact('HEAD', segs))) return { handler: r.handler, params };
    }
    if (pathMatched) throw new ApiError('method_not_allowed', `${method} is not allowed here`);
    throw new NotFoundError('route', `no route ${method} ${pathname}`);
  }

  private hasExact(method: string, segs: string[]): boolean {
    return this.routes.some((r) => r.method === method && matchParts(r.parts, segs));
  }
}

function matchParts(parts: string[], segs: string[]): Record<string, string> | undefined {
  if (parts.length !== segs.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    let s: string;
    try {
      s = decodeURIComponent(segs[i]!);
    } catch {
      return undefined;
    }
    if (p.startsWith(':')) {
      if (s === '') return undefined;
      params[p.slice(1)] = s;
    }
    else if (p !== s) return undefined;
  }
  return params;
}
