/**
 * QR renderings of the recovery key: an SVG document for the wizard and a
 * printout, and text for a terminal. The QR holds the canonical key text
 * (`XXXX-…`, all in QR's compact alphanumeric set), so a phone that scans it
 * shows exactly what the person would type.
 */
import { qrOf, qrToSvg, qrToText, type QrBitmap, type QrTextOptions } from '../util/qr.ts';
import { normalizeRecoveryKey } from './recovery.ts';

export { qrToSvg, qrToText, type QrBitmap, type QrTextOptions };

/** The QR symbol of a recovery key (validated and normalized first); a printed key gets creased, hence level M. */
export function recoveryKeyQr(recoveryKey: string): QrBitmap {
  return qrOf(normalizeRecoveryKey(recoveryKey));
}

export function recoveryKeyQrSvg(recoveryKey: string, opts: { scale?: number } = {}): string {
  return qrToSvg(recoveryKeyQr(recoveryKey), opts);
}

export function recoveryKeyQrText(recoveryKey: string, opts: QrTextOptions = {}): string {
  return qrToText(recoveryKeyQr(recoveryKey), opts);
}
