/**
 * The HTML of the sign-in pages: plain forms that work without JavaScript,
 * on a phone (the QR code opens them) or a desktop, with labels, a language
 * attribute, error messages announced to screen readers (role="alert") and
 * tied to their field (aria-describedby), and no resource from elsewhere.
 */
import { LANGS, fill, strings, type Lang, type Strings } from './i18n.ts';

export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1b1b1f;--bg:#f6f7f9;--card:#fff;--accent:#0b57d0;--err:#b3261e;--muted:#5f6368}
@media (prefers-color-scheme:dark){:root{--fg:#e8eaed;--bg:#121316;--card:#1f2024;--accent:#a8c7fa;--err:#f2b8b5;--muted:#9aa0a6}}
*{box-sizing:border-box}body{margin:0;font:1rem/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:26rem;margin:2rem auto;padding:1.5rem;background:var(--card);border-radius:.75rem;box-shadow:0 1px 3px rgba(0,0,0,.2)}
h1{font-size:1.5rem;margin:0 0 .75rem}p{margin:.5rem 0}label{display:block;font-weight:600;margin-top:1rem}
input[type=text],input[type=password]{width:100%;font-size:1.125rem;padding:.625rem;margin-top:.25rem;border:1px solid var(--muted);border-radius:.375rem;background:transparent;color:inherit}
input[name=user_code]{text-transform:uppercase;letter-spacing:.2em;text-align:center;font-family:ui-monospace,monospace}
.hint{color:var(--muted);font-size:.875rem}.alert{color:var(--err);font-weight:600}
.code{font:700 1.75rem ui-monospace,monospace;letter-spacing:.15em;text-align:center;margin:1rem 0}
.actions{display:flex;gap:.75rem;margin-top:1.25rem;flex-wrap:wrap}
button{font-size:1rem;padding:.625rem 1.25rem;border-radius:.375rem;border:1px solid var(--accent);cursor:pointer;min-height:44px}
button.primary{background:var(--accent);color:var(--card)}button.secondary{background:transparent;color:var(--accent)}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}ul{padding-left:1.25rem}
nav{max-width:26rem;margin:0 auto;text-align:right;font-size:.875rem}nav a{color:var(--accent);margin-left:.75rem}
`;

export interface Layout {
  lang: Lang;
  title: string;
  body: string;
  /** The page's own URL (for the language links); omitted on POST results. */
  selfUrl?: string;
}

export function layout({ lang, title, body, selfUrl }: Layout): string {
  const t = strings(lang);
  let nav = '';
  if (selfUrl) {
    const links = LANGS.filter((l) => l !== lang).map((l) => {
      const u = new URL(selfUrl, 'http://x');
      u.searchParams.set('lang', l);
      return `<a href="${esc(u.pathname + u.search)}" hreflang="${l}" lang="${l}">${esc(strings(l).langName)}</a>`;
    });
    nav = `<nav aria-label="${esc(t.otherLanguage)}">${links.join('')}</nav>`;
  }
  return `<!DOCTYPE html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(title)} · ${esc(t.product)}</title>
<style>${STYLE}</style>
</head>
<body>
${nav}
<main>
<h1>${esc(title)}</h1>
${body}
</main>
</body>
</html>`;
}

const hidden = (name: string, value: string) => `<input type="hidden" name="${esc(name)}" value="${esc(value)}">`;

export type CodeProblem = 'wrong' | 'expired' | 'used' | 'missing' | 'stale' | 'aborted' | 'error' | undefined;

export function deviceInputPage(p: { lang: Lang; action: string; xsrf: string; userCode?: string; problem: CodeProblem; selfUrl?: string }): string {
  const t = strings(p.lang);
  const message: Record<Exclude<CodeProblem, undefined>, string> = {
    wrong: t.codeWrong,
    expired: t.codeExpired,
    used: t.codeUsed,
    missing: t.codeMissing,
    stale: t.codeStale,
    aborted: t.aborted,
    error: t.genericError,
  };
  const alert = p.problem ? `<p class="alert" role="alert" id="code-error">${esc(message[p.problem])}</p>` : '';
  if (p.problem === 'aborted') return layout({ lang: p.lang, title: t.deviceTitle, body: alert });
  const described = p.problem ? 'code-hint code-error' : 'code-hint';
  const body = `<p>${esc(t.deviceIntro)}</p>
${alert}
<form method="post" action="${esc(p.action)}">
${hidden('xsrf', p.xsrf)}
<label for="user_code">${esc(t.codeLabel)}</label>
<input type="text" id="user_code" name="user_code" required autocomplete="one-time-code" autocapitalize="characters" spellcheck="false"
 inputmode="text" maxlength="20" aria-describedby="${described}"${p.problem ? ' aria-invalid="true"' : ''} value="${esc(p.userCode ?? '')}" autofocus>
<p class="hint" id="code-hint">${esc(t.codeHint)}</p>
<div class="actions"><button class="primary" type="submit">${esc(t.continue)}</button></div>
</form>`;
  return layout({ lang: p.lang, title: t.deviceTitle, body, selfUrl: p.selfUrl });
}

export function deviceConfirmPage(p: { lang: Lang; action: string; xsrf: string; userCode: string; clientName: string; fromIp?: string; fromAgent?: string }): string {
  const t = strings(p.lang);
  const from = p.fromIp ? `<p class="hint">${esc(t.confirmFrom)}: ${esc(p.fromIp)}${p.fromAgent ? ` — ${esc(p.fromAgent)}` : ''}</p>` : '';
  const body = `<p>${esc(t.confirmIntro)}</p>
<p class="code" aria-label="${esc(p.userCode.split('').join(' '))}">${esc(p.userCode)}</p>
<p><strong>${esc(p.clientName)}</strong></p>
${from}
<p class="hint">${esc(t.confirmWarn)}</p>
<form method="post" action="${esc(p.action)}">
${hidden('xsrf', p.xsrf)}${hidden('user_code', p.userCode)}
<div class="actions">
<button class="primary" type="submit" name="confirm" value="yes">${esc(t.continue)}</button>
<button class="secondary" type="submit" name="abort" value="yes">${esc(t.cancel)}</button>
</div>
</form>`;
  return layout({ lang: p.lang, title: t.confirmTitle, body });
}

/** Why the login form is shown again: a wrong password, too many of them, or a field left empty. */
export type LoginProblem = 'failed' | 'throttled' | 'missingUser' | 'missingPassword' | 'missingBoth';

export function loginPage(p: { lang: Lang; uid: string; clientName: string; problem?: LoginProblem; username?: string; selfUrl?: string }): string {
  const t = strings(p.lang);
  const message: Record<LoginProblem, string> = {
    failed: t.loginFailed,
    throttled: t.loginThrottled,
    missingUser: t.loginMissingUser,
    missingPassword: t.loginMissingPassword,
    missingBoth: t.loginMissingBoth,
  };
  const alert = p.problem ? `<p class="alert" role="alert" id="login-error">${esc(message[p.problem])}</p>` : '';
  // which field the message is about: a missing one, else both
  const invalid = (field: 'user' | 'password') =>
    p.problem && p.problem !== (field === 'user' ? 'missingPassword' : 'missingUser') ? ' aria-invalid="true" aria-describedby="login-error"' : '';
  const focusPassword = !!p.username && p.problem !== 'missingUser';
  const base = `/interaction/${encodeURIComponent(p.uid)}`;
  const body = `<p>${esc(fill(t.loginIntro, { client: p.clientName }))}</p>
${alert}
<form method="post" action="${base}/login?lang=${p.lang}">
<label for="username">${esc(t.username)}</label>
<input type="text" id="username" name="username" required autocomplete="username" autocapitalize="none" spellcheck="false" value="${esc(p.username ?? '')}"${invalid('user')}${focusPassword ? '' : ' autofocus'}>
<label for="password">${esc(t.password)}</label>
<input type="password" id="password" name="password" required autocomplete="current-password"${invalid('password')}${focusPassword ? ' autofocus' : ''}>
<div class="actions">
<button class="primary" type="submit">${esc(t.signIn)}</button>
<button class="secondary" type="submit" formaction="${base}/abort?lang=${p.lang}" formnovalidate>${esc(t.cancel)}</button>
</div>
</form>`;
  return layout({ lang: p.lang, title: t.loginTitle, body, selfUrl: p.selfUrl });
}

export function consentPage(p: { lang: Lang; uid: string; clientName: string; userName: string; scopes: string[]; selfUrl?: string }): string {
  const t = strings(p.lang);
  const items = p.scopes.map((s) => `<li>${esc((t as Record<string, string>)[`scope_${s}`] ?? s)}</li>`).join('');
  const base = `/interaction/${encodeURIComponent(p.uid)}`;
  const body = `<p>${esc(fill(t.consentIntro, { client: p.clientName, user: p.userName }))}</p>
<ul>${items}</ul>
<form method="post" action="${base}/confirm?lang=${p.lang}">
<div class="actions">
<button class="primary" type="submit">${esc(t.allow)}</button>
<button class="secondary" type="submit" formaction="${base}/abort?lang=${p.lang}">${esc(t.deny)}</button>
</div>
</form>`;
  return layout({ lang: p.lang, title: t.consentTitle, body, selfUrl: p.selfUrl });
}

export function messagePage(lang: Lang, title: keyof Strings, text: keyof Strings, alert = false): string {
  const t = strings(lang);
  return layout({ lang, title: t[title], body: `<p${alert ? ' class="alert" role="alert"' : ''}>${esc(t[text])}</p>` });
}

export function errorPage(lang: Lang, detail?: string): string {
  const t = strings(lang);
  return layout({ lang, title: t.errorTitle, body: `<p class="alert" role="alert">${esc(t.genericError)}</p>${detail ? `<p class="hint">${esc(detail)}</p>` : ''}` });
}
