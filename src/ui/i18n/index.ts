/**
 * The language of a page (the wizard's or the Backup app's): `?lang=` first,
 * else the browser's; English or Brazilian Portuguese. One `lang` signal for
 * the page; `uiMsgs` is the shared string table in that language (each page
 * has its own table too, which spreads the shared one).
 */
import { computed, signal } from '@preact/signals';
import { uiEn, type UiMessages } from './en.ts';
import { uiPtBR } from './pt-BR.ts';

export type Lang = 'en' | 'pt-BR';
export const LANG_NAMES: Record<Lang, string> = { en: 'English', 'pt-BR': 'Português' };
export const LANG_LIST = Object.keys(LANG_NAMES) as Lang[];

export function pickLang(query: string | null, browser: readonly string[]): Lang {
  for (const tag of [query, ...browser]) {
    if (!tag) continue;
    const t = tag.toLowerCase();
    if (t.startsWith('pt')) return 'pt-BR';
    if (t.startsWith('en')) return 'en';
  }
  return 'en';
}

export const lang = signal<Lang>('en');
export const uiMsgs = computed<UiMessages>(() => (lang.value === 'pt-BR' ? uiPtBR : uiEn));

/** Sets the language, the page's `lang`, its title and `?lang=` (so a reload keeps it). */
export function applyLang(l: Lang, title: string): void {
  lang.value = l;
  document.documentElement.lang = l;
  document.title = title;
  const url = new URL(location.href);
  if (url.searchParams.get('lang') !== l) {
    url.searchParams.set('lang', l);
    history.replaceState(history.state, '', url);
  }
}

export { uiEn, uiPtBR, type UiMessages };
