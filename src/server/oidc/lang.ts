/** The language of a page request: `?lang=` (remembered in a cookie), else Accept-Language. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { pickLang, type Lang } from './i18n.ts';

const COOKIE = 'koder_lang';

function cookieLang(header: string | undefined): string | undefined {
  return header
    ?.split(';')
    .map((c) => c.trim().split('='))
    .find(([k]) => k === COOKIE)?.[1];
}

export function langOf(ctx: KoaContextWithOIDC): Lang {
  const q = typeof ctx.query.lang === 'string' ? ctx.query.lang : undefined;
  const lang = pickLang(ctx.get('accept-language'), q ?? cookieLang(ctx.get('cookie')));
  if (q) ctx.append('Set-Cookie', `${COOKIE}=${lang}; Path=/; SameSite=Lax; Max-Age=31536000`);
  return lang;
}

export function langOfRequest(req: IncomingMessage, res: ServerResponse): Lang {
  const q = new URL(req.url ?? '/', 'http://x').searchParams.get('lang');
  const lang = pickLang(req.headers['accept-language'], q ?? cookieLang(req.headers.cookie));
  if (q) res.appendHeader('Set-Cookie', `${COOKIE}=${lang}; Path=/; SameSite=Lax; Max-Age=31536000`);
  return lang;
}
