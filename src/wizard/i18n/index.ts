/**
 * The wizard's language: `?lang=` first, else the browser's; English or
 * Brazilian Portuguese. `msgs` is the current string table (a signal, so
 * switching language re-renders what reads it).
 */
import { computed, signal } from '@preact/signals';
import { en, type Messages } from './en.ts';
import { ptBR } from './pt-BR.ts';

export type Lang = 'en' | 'pt-BR';
export const LANGS: Record<Lang, { messages: Messages; name: string }> = {
  en: { messages: en, name: 'English' },
  'pt-BR': { messages: ptBR, name: 'Português' },
};

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
export const msgs = computed<Messages>(() => LANGS[lang.value].messages);

/** Sets the language, the page's `lang` and `?lang=` (so a reload keeps it). */
export function setLang(l: Lang): void {
  lang.value = l;
  document.documentElement.lang = l;
  document.title = LANGS[l].messages.doc_title;
  const url = new URL(location.href);
  if (url.searchParams.get('lang') !== l) {
    url.searchParams.set('lang', l);
    history.replaceState(history.state, '', url);
  }
}

export type { Messages };
