/**
 * English strings of what the installer wizard and the Backup app share
 * (src/ui): the snapshot cards, the sign-in code, the language switch, error
 * details. This object defines the shared key set: each page's own string
 * table spreads it, so a key exists once.
 */
const n = (x: number) => x.toLocaleString('en');
const plural = (x: number, one: string, other: string) => `${n(x)} ${x === 1 ? one : other}`;

export const uiEn = {
  language_label: 'Language',
  error_detail: 'What happened:',
  back: 'Back',
  retry: 'Try again',
  login_scan: 'Scan the QR code with your phone’s camera,',
  login_or_open: 'or open this address on any device',
  login_enter_code: 'and enter this code:',
  login_qr_alt: 'QR code that opens the Koder ID sign-in page on your phone',
  login_time_left: (clock: string) => `The code expires in ${clock}`,
  login_time_over: 'This code has expired.',
  login_waiting: 'Waiting for you to approve the sign-in…',
  shared_by: 'Shared by',
  chain_full: 'Full snapshot',
  chain_depth: (d: number) => `Chain of ${n(d)} snapshots`,
  count_packages: (x: number) => plural(x, 'package', 'packages'),
  count_repos: (x: number) => plural(x, 'repository', 'repositories'),
  count_folders: (x: number) => plural(x, 'folder', 'folders'),
  card_reading: 'Reading what it holds…',
  card_unreadable: 'Could not read what it holds',
  card_refused: 'Failed verification: cannot be restored',
  bytes_of: (done: string, total: string) => `${done} of ${total}`,
  eta_minutes: (x: number) => (x === 1 ? 'About 1 minute left' : `About ${n(x)} minutes left`),
  eta_hours: (h: number, min: number) => `About ${n(h)} h ${String(min).padStart(2, '0')} min left`,
  eta_under_minute: 'Less than a minute left',
  eta_unknown: 'Estimating the time left…',
  status_pending: 'Waiting',
  status_running: 'In progress',
  status_done: 'Done',
  status_skipped: 'Skipped',
  status_failed: 'Failed',
  cat_system: 'System settings',
  cat_apps: 'Apps',
  cat_repos: 'Git repositories',
  cat_secrets: 'Secrets',
  cat_files: 'Documents and files',
  show_secret: 'Show',
};

export type UiMessages = typeof uiEn;
