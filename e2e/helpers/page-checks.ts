/**
 * Checks of a rendered page, shared by the wizard's and the app's screen
 * tests: layout (no page overflow, nothing sticking out or cut sideways;
 * the wizard also forbids a scrolling screen body), axe-core's serious and
 * critical violations, and every string a person sees or hears (to find
 * untranslated ones).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

/** Evaluated through the devtools protocol: the page's CSP (the daemon's) forbids injected scripts, rightly. */
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Layout problems: page overflow, anything sticking out or clipped sideways,
 * and (unless `bodyMayScroll`: the app's long screens scroll inside their
 * frame) a screen body that scrolls.
 */
export function layoutProblems(page: Page, o: { bodyMayScroll?: boolean } = {}): Promise<string[]> {
  return page.evaluate((bodyMayScroll) => {
    const out: string[] = [];
    const d = document.documentElement;
    const name = (el: Element) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.classList.length ? `.${Array.from(el.classList).join('.')}` : ''} “${(el.textContent ?? '').trim().slice(0, 40)}”`;
    if (d.scrollWidth > d.clientWidth || d.scrollHeight > d.clientHeight) {
      out.push(`document ${d.scrollWidth}×${d.scrollHeight} overflows ${d.clientWidth}×${d.clientHeight}`);
      // Say what: the outermost elements reaching below the window.
      for (const el of Array.from(document.querySelectorAll('body *'))) {
        const r = el.getBoundingClientRect();
        const up = el.parentElement?.getBoundingClientRect();
        if (r.bottom > innerHeight + 0.5 && up && up.bottom <= innerHeight + 0.5) out.push(`${name(el)} reaches below the window (${Math.round(r.top)}..${Math.round(r.bottom)})`);
      }
    }
    if (document.body.scrollWidth > document.body.clientWidth || document.body.scrollHeight > document.body.clientHeight) out.push('body overflows');
    if (!bodyMayScroll) {
      for (const el of Array.from(document.querySelectorAll('.content'))) {
        if (el.scrollHeight > el.clientHeight + 1) out.push(`screen body scrolls (${el.scrollHeight} > ${el.clientHeight}): long content belongs in a .scroll region`);
      }
    }
    for (const el of Array.from(document.querySelectorAll('body *'))) {
      if (el.closest('.visually-hidden') || el.tagName === 'INPUT') continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.right > innerWidth + 0.5 || r.left < -0.5) out.push(`${name(el)} sticks out sideways (${Math.round(r.left)}..${Math.round(r.right)})`);
      const ox = getComputedStyle(el).overflowX;
      if (ox !== 'visible' && el.scrollWidth > el.clientWidth + 1) out.push(`${name(el)} is cut or scrolls sideways (${el.scrollWidth} > ${el.clientWidth})`);
    }
    return out;
  }, o.bodyMayScroll ?? false);
}

/** axe-core's serious and critical violations, one line each. */
export async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; impact?: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.help} @ ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
}

/** Every string a person sees or hears, outside data (`translate="no"`). */
export function texts(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out = new Set<string>([document.title]);
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || el.closest('[translate="no"], script, style')) continue;
      const t = (n.textContent ?? '').replace(/\s+/g, ' ').trim();
      if (/\p{L}{2,}/u.test(t)) out.add(t);
    }
    for (const el of Array.from(document.querySelectorAll('[aria-label], [alt], [title], [placeholder]'))) {
      if (el.closest('[translate="no"]')) continue;
      for (const a of ['aria-label', 'alt', 'title', 'placeholder']) {
        const v = el.getAttribute(a);
        if (v && /\p{L}{2,}/u.test(v)) out.add(v);
      }
    }
    return [...out];
  });
}
