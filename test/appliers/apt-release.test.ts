/**
 * Release codenames and suite rewriting (src/chroot-appliers/apt-release.ts):
 * pure, no chroot, no disk. The real os-release texts are the ones the
 * distributions ship.
 */
import { describe, expect, it } from 'vitest';
import { deb822Uris, parseOsRelease, releaseOf, rewriteSuite, rewriteSuites } from '../../src/chroot-appliers/apt-release.ts';

const BOOKWORM = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n';
const NOBLE = 'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION_CODENAME=noble\nID=ubuntu\nID_LIKE=debian\nUBUNTU_CODENAME=noble\n';
// Linux Mint names its own codename first; apt sources need Ubuntu's.
const MINT = 'NAME="Linux Mint"\nVERSION="22 (Wilma)"\nID=linuxmint\nID_LIKE="ubuntu debian"\nVERSION_CODENAME=wilma\nUBUNTU_CODENAME=noble\n';
// A testing/sid system: os-release has no codename; debian_version says "trixie/sid".
const SID = 'PRETTY_NAME="Debian GNU/Linux trixie/sid"\nNAME="Debian GNU/Linux"\nID=debian\n';

describe('releaseOf', () => {
  it('reads Debian, Ubuntu and derivatives', () => {
    expect(releaseOf(BOOKWORM)).toEqual({ debian: 'bookworm' });
    expect(releaseOf(NOBLE)).toEqual({ ubuntu: 'noble' });
    expect(releaseOf(MINT)).toEqual({ ubuntu: 'noble' });
  });

  it('falls back to debian_version only when os-release names no known codename', () => {
    expect(releaseOf(SID, 'trixie/sid\n')).toEqual({ debian: 'trixie' });
    expect(releaseOf('ID=debian\n', '11.9\n')).toEqual({ debian: 'bullseye' });
    expect(releaseOf(BOOKWORM, '11.9')).toEqual({ debian: 'bookworm' });
    expect(releaseOf('ID=gentoo\n', '')).toEqual({});
  });

  it('parses quoting and escapes as os-release(5) says', () => {
    expect(parseOsRelease('VERSION_CODENAME=bookworm\nNAME="Debian GNU/Linux"\n')).toEqual({ VERSION_CODENAME: 'bookworm', NAME: 'Debian GNU/Linux' });
    expect(parseOsRelease("A='single'\nB=\"with \\\"quote\\\"\"\n# comment\nbad line\n")).toEqual({ A: 'single', B: 'with "quote"' });
  });
});

describe('rewriteSuite', () => {
  const deb = { debian: 'bookworm' };
  it('rewrites an older codename of the same distribution, keeping the suffix', () => {
    expect(rewriteSuite('bullseye', deb)).toBe('bookworm');
    expect(rewriteSuite('bullseye-updates', deb)).toBe('bookworm-updates');
    expect(rewriteSuite('bullseye-backports', deb)).toBe('bookworm-backports');
    expect(rewriteSuite('buster/updates', deb)).toBe('bookworm-security');
  });

  it('keeps newer codenames, aliases, other distributions and odd words', () => {
    expect(rewriteSuite('trixie', deb)).toBe('trixie');
    expect(rewriteSuite('bookworm', deb)).toBe('bookworm');
    expect(rewriteSuite('stable', deb)).toBe('stable');
    expect(rewriteSuite('focal', deb)).toBe('focal');
    expect(rewriteSuite('./', deb)).toBe('./');
    expect(rewriteSuite('Bullseye', deb)).toBe('Bullseye');
    expect(rewriteSuite('focal', { ubuntu: 'noble' })).toBe('noble');
    expect(rewriteSuite('focal/updates', { ubuntu: 'noble' })).toBe('noble/updates');
    expect(rewriteSuite('bullseye', {})).toBe('bullseye');
  });
});

describe('rewriteSuites (deb822)', () => {
  const deb = { debian: 'bookworm' };
  it('rewrites every Suites word, continuation lines included, and lists the rewrites', () => {
    const r = rewriteSuites('Types: deb\nURIs: http://x\nSuites: bullseye bullseye-security\n stretch\nComponents: main\n', deb);
    expect(r.text).toBe('Types: deb\nURIs: http://x\nSuites: bookworm bookworm-security\n bookworm\nComponents: main\n');
    expect(r.rewrites).toEqual([['bullseye', 'bookworm'], ['bullseye-security', 'bookworm-security'], ['stretch', 'bookworm']]);
  });

  it('field names are case-insensitive; other fields, even naming a codename, are untouched', () => {
    const text = 'types: deb\nURIs: http://x/bullseye\nsuites: bullseye\nComponents: bullseye-main\nX-Repolib-Name: bullseye\n\nTypes: deb\nURIs: http://y\nSuites: bookworm\n';
    const r = rewriteSuites(text, deb);
    expect(r.text).toBe(text.replace('suites: bullseye', 'suites: bookworm'));
    expect(r.rewrites).toEqual([['bullseye', 'bookworm']]);
  });

  it('a continuation of another field is not a suite', () => {
    const text = 'Types: deb\nURIs: http://x\nSuites: trixie\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n bullseye\nComponents: main\n';
    expect(rewriteSuites(text, deb)).toEqual({ text, rewrites: [] });
  });

  it('the URIs of a text', () => {
    expect(deb822Uris('Types: deb\nURIs: http://a/debian/ https://b\n\nTypes: deb\nuris: file:/srv/repo\n')).toEqual(['http://a/debian', 'https://b', 'file:/srv/repo']);
  });
});
