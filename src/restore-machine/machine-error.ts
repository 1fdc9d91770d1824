/**
 * An error as the restore machine keeps it in its context (JSON, persisted),
 * and so as the daemon's UiState shows it: `{ code, message }`.
 *
 * `code` is the catalogue's code (util/coded-error.ts), spelled as the
 * catalogue spells it — except three codes that the wizard, the installer
 * job and the CLI read in the spelling they had before the catalogue, which
 * this boundary keeps (UI_CODES). An error without a catalogue code keeps
 * its own string code (an errno, openid-client's), else 'ERROR'.
 */
import { CodedError, isErrorCode, type ErrorCode } from '../util/coded-error.ts';
import type { MachineError } from './types.ts';

/** The UiState's own spelling of these codes (a wire format: the wizard reads them). */
export const UI_CODES = {
  manifest_verify: 'MANIFEST_VERIFY',
  manifest_parse: 'MANIFEST_PARSE',
  wrong_secret: 'WRONG_SECRET',
} as const satisfies Partial<Record<ErrorCode, string>>;

const uiSpelling: Partial<Record<ErrorCode, string>> = UI_CODES;
const fromUi = new Map<string, ErrorCode>(Object.entries(UI_CODES).map(([code, ui]) => [ui, code as ErrorCode]));

export function toMachineError(e: unknown): MachineError {
  const err = e as { code?: unknown; message?: unknown };
  const message = typeof err?.message === 'string' ? err.message : String(e);
  if (e instanceof CodedError) return { code: uiSpelling[e.code] ?? e.code, message };
  return { code: typeof err?.code === 'string' ? err.code : 'ERROR', message };
}

/** The catalogue code a MachineError stands for (undefined: not one of the catalogue's). */
export function catalogueCode(e: MachineError | undefined): ErrorCode | undefined {
  if (!e) return undefined;
  return fromUi.get(e.code) ?? (isErrorCode(e.code) ? e.code : undefined);
}
