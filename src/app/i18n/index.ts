/**
 * The app's strings: `msgs` is the current table (a signal: switching
 * language re-renders what reads it). The language is the page's (src/ui/
 * i18n): `?lang=` first, else the browser's.
 */
import { computed } from '@preact/signals';
import { applyLang, lang, pickLang, type Lang } from '../../ui/i18n/index.ts';
import { en, type Messages } from './en.ts';
import { ptBR } from './pt-BR.ts';

export const TABLES: Record<Lang, Messages> = { en, 'pt-BR': ptBR };
export { lang, pickLang, type Lang, type Messages };
export const msgs = computed<Messages>(() => TABLES[lang.value]);

export function setLang(l: Lang): void {
  applyLang(l, TABLES[l].doc_title);
}
