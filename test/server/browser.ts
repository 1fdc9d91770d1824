/**
 * A tiny "browser" for tests: fetch with a cookie jar that honours Path and
 * Max-Age/Expires, following redirects by hand so every Set-Cookie is seen.
 * Used to approve device codes through the provider's real pages.
 */
export class Browser {
  private jar = new Map<string, { name: string; value: string; path: string }>();
  /** `via`: send every request (redirects too) to this origin instead, keeping path and query (one process behind a balancer). */
  constructor(
    private acceptLanguage = 'en',
    private via?: string,
  ) {}

  private cookieHeader(url: URL): string {
    return [...this.jar.values()]
      .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : c.path + '/') || c.path === '/')
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  private store(url: URL, res: Response) {
    for (const sc of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = sc.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      let path = url.pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = false;
      for (const a of attrs) {
        const [k = '', v = ''] = a.split('=').map((x) => x.trim());
        if (k.toLowerCase() === 'path') path = v || '/';
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
        if (k.toLowerCase() === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      const key = `${name};${path}`;
      if (expired) this.jar.delete(key);
      else this.jar.set(key, { name, value, path });
    }
  }

  /** One request, then redirects followed (303/302 → GET). Returns the final response and its URL. */
  async request(input: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<{ res: Response; url: URL; html: string }> {
    let url = new URL(input);
    let method = init.method ?? (init.form ? 'POST' : 'GET');
    let body: string | undefined = init.form ? new URLSearchParams(init.form).toString() : undefined;
    for (let hops = 0; hops < 20; hops++) {
      const headers: Record<string, string> = { 'accept-language': this.acceptLanguage, accept: 'text/html' };
      const cookie = this.cookieHeader(url);
      if (cookie) headers.cookie = cookie;
      if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      if (this.via) url = new URL(url.pathname + url.search, this.via);
      const res = await fetch(url, { method, headers, body, redirect: 'manual' });
      this.store(url, res);
      const loc = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && loc) {
        await res.arrayBuffer();
        url = new URL(loc, url);
        method = 'GET';
        body = undefined;
        continue;
      }
      return { res, url, html: await res.text() };
    }
    throw new Error('too many redirects');
  }
}

/** The hidden and named inputs of the first form in `html`, and its action. */
export function formOf(html: string, base: URL): { action: URL; fields: Record<string, string> } {
  const form = /<form\b[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new Error(`no form in page:\n${html.slice(0, 2000)}`);
  const action = /action="([^"]*)"/i.exec(form[0])?.[1] ?? base.pathname;
  const fields: Record<string, string> = {};
  for (const m of form[1]!.matchAll(/<input\b([^>]*)>/gi)) {
    const attrs = m[1]!;
    const name = /\bname="([^"]*)"/i.exec(attrs)?.[1];
    const type = /\btype="([^"]*)"/i.exec(attrs)?.[1];
    const value = /\bvalue="([^"]*)"/i.exec(attrs)?.[1] ?? '';
    if (name && type === 'hidden') fields[name] = unescape(value);
  }
  return { action: new URL(unescape(action), base), fields };
}

function unescape(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

export interface ApproveOptions {
  /** Where the person says no: on the code confirmation page, on the login page, or on the consent page. */
  denyAt?: 'confirm' | 'login' | 'consent';
  acceptLanguage?: string;
  /** Send every request to this origin (see Browser). */
  via?: string;
  /** Called with each page's HTML (for accessibility/language checks). */
  onPage?: (step: 'confirm' | 'login' | 'consent' | 'done', html: string) => void;
}

/** 1. the QR link: an auto-submitting form (works without JS via its button), which leads to "is this your device?". */
async function openConfirmPage(b: Browser, verificationUriComplete: string) {
  const page = await b.request(verificationUriComplete);
  const f = formOf(page.html, page.url);
  return b.request(f.action.href, { form: f.fields });
}

/** Scans the QR code and confirms the device: the browser (with its cookies) on the login page. */
export async function openLoginPage(verificationUriComplete: string, acceptLanguage?: string): Promise<{ browser: Browser; page: Awaited<ReturnType<Browser['request']>> }> {
  const browser = new Browser(acceptLanguage);
  let page = await openConfirmPage(browser, verificationUriComplete);
  const f = formOf(page.html, page.url);
  page = await browser.request(f.action.href, { form: { ...f.fields, confirm: 'yes' } });
  if (!/name="password"/.test(page.html)) throw new Error(`expected the login page, got:\n${page.html.slice(0, 2000)}`);
  return { browser, page };
}

/**
 * What a person does with their phone after scanning the QR code: open
 * verification_uri_complete, confirm the code, sign in, allow. Returns the
 * final page's HTML.
 */
export async function approveDevice(verificationUriComplete: string, username: string, password: string, o: ApproveOptions = {}): Promise<string> {
  const b = new Browser(o.acceptLanguage, o.via);
  let page = await openConfirmPage(b, verificationUriComplete);
  // 2. "is this your device?"
  o.onPage?.('confirm', page.html);
  let f = formOf(page.html, page.url);
  if (o.denyAt === 'confirm') {
    page = await b.request(f.action.href, { form: { ...f.fields, abort: 'yes' } });
    o.onPage?.('done', page.html);
    return page.html;
  }
  page = await b.request(f.action.href, { form: { ...f.fields, confirm: 'yes' } });
  // 3. login
  if (!/name="password"/.test(page.html)) throw new Error(`expected the login page, got:\n${page.html.slice(0, 2000)}`);
  o.onPage?.('login', page.html);
  const uidBase = page.url.pathname;
  if (o.denyAt === 'login') {
    page = await b.request(new URL(`${uidBase}/abort`, page.url).href, { form: {} });
    o.onPage?.('done', page.html);
    return page.html;
  }
  f = formOf(page.html, page.url);
  page = await b.request(f.action.href, { form: { username, password } });
  if (/name="password"/.test(page.html)) throw new Error('login refused');
  // 4. consent
  o.onPage?.('consent', page.html);
  f = formOf(page.html, page.url);
  if (o.denyAt === 'consent') {
    page = await b.request(new URL(`${page.url.pathname}/abort`, page.url).href, { form: {} });
  } else {
    page = await b.request(f.action.href, { form: {} });
  }
  o.onPage?.('done', page.html);
  return page.html;
}
