/**
 * QR codes (lean-qr) rendered for people: an SVG for pages and print, and
 * half-block text for a terminal. Used for the login URL (device flow) and
 * the recovery key.
 */
import { correction, generate } from 'lean-qr';
import { toSvgSource } from 'lean-qr/extras/svg';

/** A QR symbol: `size`×`size` modules, `get(x, y)` true for dark. */
export interface QrBitmap {
  readonly size: number;
  get(x: number, y: number): boolean;
}

/** Quiet zone the QR standard asks for around the symbol, in modules. */
const QUIET = 4;

export function qrToSvg(code: QrBitmap, opts: { scale?: number } = {}): string {
  return toSvgSource(code, { pad: QUIET, scale: opts.scale ?? 8, on: 'black', off: 'white', xmlDeclaration: false });
}

export interface QrTextOptions {
  /**
   * 'dark-terminal' (default): glyphs draw the light modules, the terminal's
   * dark background the dark ones. 'light-terminal': the reverse, also right
   * for paper. 'ansi': forces black on white with escape codes, right on any
   * colour terminal.
   */
  style?: 'dark-terminal' | 'light-terminal' | 'ansi';
}

/**
 * Two modules per character cell with half blocks (▀ ▄ █): terminal cells are
 * about twice as tall as wide, so the symbol comes out square and compact.
 */
export function qrToText(code: QrBitmap, opts: QrTextOptions = {}): string {
  const style = opts.style ?? 'dark-terminal';
  const glyphIsDark = style !== 'dark-terminal';
  const ink = (x: number, y: number): boolean => {
    const inside = x >= 0 && y >= 0 && x < code.size && y < code.size;
    const dark = inside && code.get(x, y);
    return dark === glyphIsDark;
  };
  const lines: string[] = [];
  for (let y = -QUIET; y < code.size + QUIET; y += 2) {
    let line = '';
    for (let x = -QUIET; x < code.size + QUIET; x++) {
      const top = ink(x, y);
      const bottom = y + 1 < code.size + QUIET && ink(x, y + 1);
      line += top ? (bottom ? '█' : '▀') : bottom ? '▄' : ' ';
    }
    lines.push(style === 'ansi' ? `\x1b[30;47m${line}\x1b[0m` : line);
  }
  return lines.join('\n');
}

/** The QR symbol of `text`, with at least correction level M (15 % recoverable). */
export function qrOf(text: string): QrBitmap {
  return generate(text, { minCorrectionLevel: correction.M });
}

/** SVG of a QR code holding `text`. */
export function qrSvg(text: string, opts: { scale?: number } = {}): string {
  return qrToSvg(qrOf(text), opts);
}

/** Terminal rendering of a QR code holding `text`. */
export function qrTerminal(text: string, opts: QrTextOptions = {}): string {
  return qrToText(qrOf(text), opts);
}
