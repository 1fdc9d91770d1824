/**
 * The wizard's strings: `msgs` is the current table (a signal, so switching
 * language re-renders what reads it). The language itself is the page's
 * (src/ui/i18n): `?lang=` first, else the browser's.
 */
import { computed } from '@preact/signals';
import { applyLang, lang, LANG_NAMES, pickLang, type Lang } from '../../ui/i18n/index.ts';
import { en, type Messages } from './en.ts';
import { ptBR } from './pt-BR.ts';

export const LANGS: Record<Lang, { messages: Messages; name: string }> = {
  en: { messages: en, name: LANG_NAMES.en },
  'pt-BR': { messages: ptBR, name: LANG_NAMES['pt-BR'] },
};

export { lang, pickLang, type Lang };
export const msgs = computed<Messages>(() => LANGS[lang.value].messages);

/** Sets the language, the page's `lang` and title, and `?lang=` (so a reload keeps it). */
export function setLang(l: Lang): void {
  applyLang(l, LANGS[l].messages.doc_title);
}

export type { Messages };
