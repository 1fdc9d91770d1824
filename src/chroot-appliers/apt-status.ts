/**
 * apt's machine-readable progress, pure: the lines `apt-get -o
 * APT::Status-Fd=N` writes to fd N, plus the two summary lines of its
 * stdout that say how much work is ahead, turned into where an apt run is.
 *
 *   dlstatus:ITEM:PERCENT:TEXT        archives being downloaded (PERCENT of the
 *                                     bytes and items still to fetch, 0..100)
 *   pmstatus:PKG:PERCENT:ACTION       dpkg at work: "Preparing", "Unpacking",
 *                                     "Configuring", "Installed PKG (arch)"…
 *                                     (PERCENT of dpkg's whole run; it steps
 *                                     back a little when apt re-plans, so the
 *                                     highest seen is kept)
 *   pmerror:PKG:PERCENT:MESSAGE       dpkg failed on PKG
 *   pmconffile:…                      a conffile prompt (never asked: confold)
 *   stdout "N upgraded, M newly installed, R to remove and K not upgraded."
 *   stdout "Need to get 36.2 MB of archives." / "Need to get 0 B/1,234 kB of archives."
 *
 * AptRunTracker folds them, in any order, into AptRun: the phase
 * (resolve → download → install), the archive bytes to fetch and fetched,
 * the packages dpkg will handle and how far it is, and the package in hand.
 * A package name may carry an architecture (`libc6:i386`).
 */

export type AptStatusLine =
  | { kind: 'dlstatus'; item: number; percent: number; text: string }
  | { kind: 'pmstatus' | 'pmerror'; pkg: string; percent: number; text: string }
  | { kind: 'pmconffile'; text: string };

const DL = /^dlstatus:(\d+):(\d+(?:\.\d+)?):(.*)$/;
// The package is the shortest prefix followed by ":NUMBER:" (a name may hold ":arch").
const PM = /^(pmstatus|pmerror):(.+?):(\d+(?:\.\d+)?):(.*)$/;

/** One Status-Fd line, or undefined for anything else (apt adds kinds now and then). */
export function parseAptStatusLine(line: string): AptStatusLine | undefined {
  const dl = DL.exec(line);
  if (dl) return { kind: 'dlstatus', item: Number(dl[1]), percent: clampPercent(Number(dl[2])), text: dl[3]! };
  const pm = PM.exec(line);
  if (pm) return { kind: pm[1] as 'pmstatus' | 'pmerror', pkg: pm[2]!, percent: clampPercent(Number(pm[3])), text: pm[4]! };
  if (line.startsWith('pmconffile:')) return { kind: 'pmconffile', text: line.slice('pmconffile:'.length) };
  return undefined;
}

const clampPercent = (p: number) => (Number.isFinite(p) ? Math.min(100, Math.max(0, p)) : 0);

const UNITS: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };

/** apt's SizeToStr ("36.2 MB", "812 kB", "8808 B"; a locale may write "1,5 MB") → bytes. */
export function parseAptSize(s: string): number | undefined {
  const m = /^\s*([\d.,]+)\s*([kKMGT]?B)\s*$/.exec(s);
  if (!m) return undefined;
  const n = Number(m[1]!.replace(',', '.'));
  const unit = UNITS[m[2]!];
  return Number.isFinite(n) && unit ? Math.round(n * unit) : undefined;
}

/** "Need to get X of archives." / "Need to get DONE/TOTAL of archives." → bytes still to fetch. */
export function parseNeedToGet(line: string): number | undefined {
  const m = /^Need to get (.+?) of archives\.?$/.exec(line.trim());
  if (!m) return undefined;
  // "12.0 MB/36.2 MB": the first is what remains to fetch (the rest is cached), the second the total.
  return parseAptSize(m[1]!.split('/')[0]!);
}

/** "N upgraded, M newly installed, R to remove and K not upgraded." → packages dpkg will handle. */
export function parseChangeSummary(line: string): number | undefined {
  const m = /^(\d+) upgraded, (\d+) newly installed, (?:(\d+) reinstalled, )?(\d+) to remove and \d+ not upgraded\.$/.exec(line.trim());
  if (!m) return undefined;
  return Number(m[1]) + Number(m[2]) + Number(m[3] ?? 0) + Number(m[4]);
}

export type AptPhase = 'resolve' | 'download' | 'install';

export interface AptRun {
  phase: AptPhase;
  /** Archive bytes apt said it needs to fetch (0 when all are cached or not yet known). */
  downloadTotal: number;
  downloadDone: number;
  /** Packages dpkg handles in this run (0 until apt printed its summary). */
  packages: number;
  /** dpkg's share done, 0..1 (the highest seen). */
  installFraction: number;
  /** Packages dpkg has unpacked (seen unpacking, configuring or installed), and of those, configured ("Installed PKG"). */
  unpacked: number;
  configured: number;
  /** The package in hand, and what is done to it ("Unpacking"). */
  current?: string;
  action?: string;
  /** Packages dpkg reported as fully installed ("Installed PKG"). */
  installed: string[];
  /** pmerror lines, as "PKG: MESSAGE". */
  errors: string[];
}

export class AptRunTracker {
  private run: AptRun = { phase: 'resolve', downloadTotal: 0, downloadDone: 0, packages: 0, installFraction: 0, unpacked: 0, configured: 0, installed: [], errors: [] };
  private dlPercent = 0;
  private unpackedSet = new Set<string>();
  private configuredSet = new Set<string>();

  /** A line of apt-get's stdout. Returns true when it changed the run. */
  stdout(line: string): boolean {
    const need = parseNeedToGet(line);
    if (need !== undefined) {
      this.run.downloadTotal = need;
      this.run.downloadDone = Math.round((need * this.dlPercent) / 100);
      return true;
    }
    const n = parseChangeSummary(line);
    if (n !== undefined) {
      this.run.packages = n;
      return true;
    }
    return false;
  }

  /** A Status-Fd line. Returns true when it changed the run. */
  status(line: string): boolean {
    const s = parseAptStatusLine(line);
    if (!s) return false;
    const r = this.run;
    switch (s.kind) {
      case 'dlstatus':
        if (r.phase === 'install') return false;
        r.phase = 'download';
        this.dlPercent = Math.max(this.dlPercent, s.percent);
        r.downloadDone = Math.round((r.downloadTotal * this.dlPercent) / 100);
        return true;
      case 'pmstatus': {
        if (r.phase !== 'install') {
          r.phase = 'install';
          this.dlPercent = 100;
          r.downloadDone = r.downloadTotal;
        }
        r.installFraction = Math.max(r.installFraction, s.percent / 100);
        if (s.pkg !== 'dpkg-exec') {
          r.current = s.pkg;
          r.action = /^(\S+(?: to configure)?)/.exec(s.text)?.[1] ?? s.text;
          const done = /^Installed (\S+)/.exec(s.text);
          if (done && !r.installed.includes(done[1]!)) r.installed.push(done[1]!);
          // Unpacking (or any later state) means unpacked; "Installed" means configured too.
          if (/^(Unpacking|Preparing to configure|Configuring|Installed) /.test(s.text)) this.unpackedSet.add(s.pkg);
          if (done) this.configuredSet.add(s.pkg);
          r.unpacked = this.unpackedSet.size;
          r.configured = this.configuredSet.size;
        }
        return true;
      }
      case 'pmerror':
        r.errors.push(`${s.pkg}: ${s.text}`);
        return true;
      default:
        return false;
    }
  }

  /** apt-get exited 0: everything it announced is done (its last percentages stop short of 100). */
  finish(): void {
    const r = this.run;
    if (r.packages === 0 && r.downloadTotal === 0) return;
    r.phase = 'install';
    r.downloadDone = r.downloadTotal;
    r.installFraction = 1;
    r.unpacked = r.configured = r.packages;
  }

  get snapshot(): AptRun {
    return { ...this.run, installed: [...this.run.installed], errors: [...this.run.errors] };
  }
}
