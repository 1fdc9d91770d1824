/**
 * QR codes of the verification URL (lean-qr): an SVG for the wizard and a
 * block-character rendering for a terminal (two modules per character row,
 * with a quiet zone, dark on light so phones read it on any theme).
 */
import { generate } from 'lean-qr';
import { toSvgSource } from 'lean-qr/extras/svg';

export function qrSvg(text: string): string {
  return toSvgSource(generate(text), { on: '#000', off: '#fff', pad: 4, xmlDeclaration: false });
}

export function qrTerminal(text: string): string {
  const code = generate(text);
  const pad = 2;
  const n = code.size + pad * 2;
  const dark = (x: number, y: number) => {
    const cx = x - pad;
    const cy = y - pad;
    return cx >= 0 && cy >= 0 && cx < code.size && cy < code.size && code.get(cx, cy);
  };
  const lines: string[] = [];
  for (let y = 0; y < n; y += 2) {
    let line = '';
    for (let x = 0; x < n; x++) {
      const top = dark(x, y);
      const bottom = y + 1 < n && dark(x, y + 1);
      // light background, dark modules: print the *light* halves as blocks
      line += !top && !bottom ? '█' : !top ? '▀' : !bottom ? '▄' : ' ';
    }
    lines.push(line);
  }
  return lines.join('\n');
}
