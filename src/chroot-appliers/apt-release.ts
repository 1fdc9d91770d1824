/**
 * Release codenames and the rewriting of an apt source's suites, pure (no
 * disk, no chroot): what `apt.sources` uses to offer a third-party source
 * captured on an older release under the target's own release.
 *
 *   releaseOf(os-release, debian_version) → { debian?: 'bookworm', ubuntu?: … }
 *   rewriteSuite('bullseye-updates', { debian: 'bookworm' }) → 'bookworm-updates'
 *   rewriteSuites(deb822 text) → the text with every older suite rewritten,
 *                                and the list of rewrites done
 *
 * Only a suite naming an OLDER codename of the same distribution is
 * rewritten; `stable`, a newer codename or another distribution's are kept.
 * Debian's old security layout (`buster/updates`) becomes `-security`.
 */
/** Debian codenames, oldest first. */
export const DEBIAN_CODENAMES = ['buzz', 'rex', 'bo', 'hamm', 'slink', 'potato', 'woody', 'sarge', 'etch', 'lenny', 'squeeze', 'wheezy', 'jessie', 'stretch', 'buster', 'bullseye', 'bookworm', 'trixie', 'forky', 'duke'];
/** Ubuntu codenames, oldest first. */
export const UBUNTU_CODENAMES = ['warty', 'hoary', 'breezy', 'dapper', 'edgy', 'feisty', 'gutsy', 'hardy', 'intrepid', 'jaunty', 'karmic', 'lucid', 'maverick', 'natty', 'oneiric', 'precise', 'quantal', 'raring', 'saucy', 'trusty', 'utopic', 'vivid', 'wily', 'xenial', 'yakkety', 'zesty', 'artful', 'bionic', 'cosmic', 'disco', 'eoan', 'focal', 'groovy', 'hirsute', 'impish', 'jammy', 'kinetic', 'lunar', 'mantic', 'noble', 'oracular', 'plucky', 'questing'];
const DEBIAN_BY_MAJOR: Record<string, string> = { '8': 'jessie', '9': 'stretch', '10': 'buster', '11': 'bullseye', '12': 'bookworm', '13': 'trixie', '14': 'forky', '15': 'duke' };

export interface TargetRelease {
  debian?: string;
  ubuntu?: string;
}

/** `KEY=value` pairs of an os-release file. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2]!;
    if (/^".*"$/.test(v) || /^'.*'$/.test(v)) v = v.slice(1, -1);
    out[m[1]!] = v.replace(/\\(.)/g, '$1');
  }
  return out;
}

/**
 * The Debian and/or Ubuntu codename of a system, from its os-release text
 * and, when that names none, its /etc/debian_version (`12.5`, `bookworm/sid`).
 */
export function releaseOf(osRelease: string, debianVersion = ''): TargetRelease {
  const os = parseOsRelease(osRelease);
  const names = [os.VERSION_CODENAME, os.DEBIAN_CODENAME, os.UBUNTU_CODENAME].filter((x): x is string => !!x).map((x) => x.toLowerCase());
  const rel: TargetRelease = {};
  const deb = names.find((n) => DEBIAN_CODENAMES.includes(n));
  const ubu = names.find((n) => UBUNTU_CODENAMES.includes(n));
  if (deb) rel.debian = deb;
  if (ubu) rel.ubuntu = ubu;
  if (!rel.debian && !rel.ubuntu) {
    const dv = debianVersion.trim();
    const byName = DEBIAN_CODENAMES.find((n) => dv.startsWith(`${n}/`));
    const byMajor = DEBIAN_BY_MAJOR[dv.split('.')[0] ?? ''];
    if (byName) rel.debian = byName;
    else if (byMajor) rel.debian = byMajor;
  }
  return rel;
}

/** A suite (`bullseye`, `bullseye-updates`, `bullseye/updates`) under the target's release, if it names an older one. */
export function rewriteSuite(suite: string, rel: TargetRelease): string {
  const m = /^([a-z]+)([-/].*)?$/.exec(suite);
  if (!m) return suite;
  const [, code, rest = ''] = m;
  for (const [list, target] of [[DEBIAN_CODENAMES, rel.debian], [UBUNTU_CODENAMES, rel.ubuntu]] as const) {
    if (!target) continue;
    const i = list.indexOf(code!);
    const t = list.indexOf(target);
    if (i >= 0 && t >= 0 && i < t) {
      // Debian's old security layout (`buster/updates`) became `-security`.
      const tail = list === DEBIAN_CODENAMES && rest === '/updates' ? '-security' : rest;
      return `${target}${tail}`;
    }
  }
  return suite;
}

/**
 * Rewrites every `Suites:` field of a deb822 text (field names are
 * case-insensitive; continuation lines belong to the field). Returns the new
 * text and the rewrites done.
 */
export function rewriteSuites(deb822: string, rel: TargetRelease): { text: string; rewrites: Array<[string, string]> } {
  const rewrites: Array<[string, string]> = [];
  const lines = deb822.split('\n');
  let inSuites = false;
  const out = lines.map((line) => {
    const field = /^([A-Za-z0-9-]+):(.*)$/.exec(line);
    if (field) {
      inSuites = field[1]!.toLowerCase() === 'suites';
      if (!inSuites) return line;
      return `${field[1]}:${rewriteWords(field[2]!, rel, rewrites)}`;
    }
    if (inSuites && /^[ \t]/.test(line) && line.trim() !== '' && line.trim() !== '.') return rewriteWords(line, rel, rewrites);
    if (!/^[ \t]/.test(line)) inSuites = false;
    return line;
  });
  return { text: out.join('\n'), rewrites };
}

function rewriteWords(s: string, rel: TargetRelease, rewrites: Array<[string, string]>): string {
  return s.replace(/[^\s]+/g, (w) => {
    const r = rewriteSuite(w, rel);
    if (r !== w) rewrites.push([w, r]);
    return r;
  });
}

/** The `URIs:` of a deb822 text. */
export function deb822Uris(deb822: string): string[] {
  const out: string[] = [];
  for (const m of deb822.matchAll(/^URIs:(.*)$/gim)) out.push(...m[1]!.trim().split(/\s+/).filter(Boolean));
  return out.map((u) => u.replace(/\/+$/, ''));
}
