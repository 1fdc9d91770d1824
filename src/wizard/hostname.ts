/**
 * Hostname check, RFC 1123 §2.1 (RFC 952 relaxed): labels of 1–63 letters,
 * digits and hyphens, not starting or ending with a hyphen, separated by
 * dots, at most 253 characters; not a dotted-decimal IP address.
 * Returns the first problem, or null when the name is valid.
 */
export type HostnameProblem = 'empty' | 'too_long' | 'label_empty' | 'label_too_long' | 'chars' | 'hyphen' | 'numeric';

export function checkHostname(name: string): HostnameProblem | null {
  if (name.length === 0) return 'empty';
  if (name.length > 253) return 'too_long';
  if (/[^A-Za-z0-9.-]/.test(name)) return 'chars';
  const labels = name.split('.');
  for (const l of labels) {
    if (l.length === 0) return 'label_empty';
    if (l.length > 63) return 'label_too_long';
    if (l.startsWith('-') || l.endsWith('-')) return 'hyphen';
  }
  if (/^\d+(\.\d+){3}$/.test(name)) return 'numeric';
  return null;
}

/** A Linux login name as Debian's adduser accepts by default. */
export function checkUserName(name: string): boolean {
  return /^[a-z][a-z0-9_-]{0,31}$/.test(name);
}
