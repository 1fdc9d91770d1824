import { describe, expect, it } from 'vitest';
import { ManifestParseError, parse, serialize, snapshotId, canonicalBytes } from '../../src/manifest/index.ts';
import { fixtureText } from '../helpers/manifests.ts';

function parseError(text: string, file = 'm.kvg'): ManifestParseError {
  try {
    parse(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestParseError);
    return e as ManifestParseError;
  }
  throw new Error('expected a ManifestParseError, but the text parsed');
}

const HEADER = '[snapshot]\nversion = 1\nhostname = "h"\ncreated_at = "2026-05-21T10:00:00Z"\nkoder_user_id = "u"\n';

describe('parse', () => {
  it('reads every section of the RFC schema', () => {
    const m = parse(fixtureText(), 'full.kvg');
    expect(m.snapshot.hostname).toBe('rodrigo-laptop');
    expect(m.system?.gsettings?.['org.gnome.desktop.interface']?.['gtk-theme']).toBe("'Adwaita-dark'");
    expect(m.apps?.snap?.[1]).toEqual({ name: 'code', channel: 'latest/stable', classic: true });
    expect(m.apps?.apt_sources?.[0]?.deb822).toContain('Signed-By: /etc/apt/keyrings/packages.microsoft.gpg\n');
    expect(m.repos?.entry?.[0]?.bundle).toMatch(/^sha256:2{64}$/);
    expect(m.secrets?.ssh_id_ed25519?.mode).toBe('0600');
    expect(m.files?.entry?.[0]?.size).toBe(1048576);
    expect(Object.getPrototypeOf(m.snapshot)).toBe(Object.prototype);
  });

  it('round-trips through serialize with the same data and id', () => {
    const m = parse(fixtureText(), 'full.kvg');
    const text = serialize(m);
    const again = parse(text, 'again.kvg');
    expect(again).toEqual(m);
    expect(snapshotId(again)).toBe(snapshotId(m));
    expect(serialize(again)).toBe(text);
  });

  it('keeps unknown keys in known sections and counts them in the canonical bytes', () => {
    const m = parse(HEADER + '[system]\ntimezone = "UTC"\nfuture_thing = { a = 1 }\n', 'm.kvg');
    expect((m.system as Record<string, unknown>).future_thing).toEqual({ a: 1 });
    const without = parse(HEADER + '[system]\ntimezone = "UTC"\n', 'm.kvg');
    expect(snapshotId(m)).not.toBe(snapshotId(without));
    expect(new TextDecoder().decode(canonicalBytes(m))).toContain('"future_thing":{"a":1}');
  });

  it('gives the same id for differently formatted TOML of the same data', () => {
    const a = parse(HEADER + '[apps]\napt = ["a1", "b2"]\n', 'a');
    const b = parse('# c\n[apps]\napt=[ "a1",\n "b2", ]\n[snapshot]\nkoder_user_id="u"\ncreated_at="2026-05-21T10:00:00Z"\nhostname="h"\nversion=1\n', 'b');
    expect(snapshotId(a)).toBe(snapshotId(b));
  });

  it('reports file:line:column and the field path', () => {
    const text = HEADER + '\n[apps]\nsnap = [\n  { name = "a", channel = "stable" },\n  { name = "b", channel = "stable" },\n  { name = "c", channel = 3 },\n]\n';
    const e = parseError(text);
    expect(e.field).toBe('apps.snap[2].channel');
    expect(e.position).toEqual({ line: 11, column: 27 });
    expect(e.message).toBe('m.kvg:11:27 apps.snap[2].channel: expected string, got number');
  });

  it('reports TOML syntax errors with their position', () => {
    const e = parseError(HEADER + 'broken = \n');
    expect(e.position?.line).toBe(6);
    expect(e.message).toMatch(/^m\.kvg:6:\d+: invalid TOML/);
  });

  it.each([
    ['unknown section', HEADER + '[bogus]\na = 1\n', 'bogus', /unknown section \[bogus\]/],
    ['missing snapshot', '[system]\ntimezone = "UTC"\n', 'snapshot', /required section/],
    ['missing hostname', HEADER.replace('hostname = "h"\n', ''), 'snapshot.hostname', /required field is missing/],
    ['bad hostname', HEADER.replace('"h"', '"-bad-"'), 'snapshot.hostname', /RFC 1123/],
    ['native date-time', HEADER.replace('"2026-05-21T10:00:00Z"', '2026-05-21T10:00:00Z'), 'snapshot.created_at', /native TOML date-times/],
    ['bad date', HEADER.replace('2026-05-21T10', '2026-02-30T10'), 'snapshot.created_at', /RFC 3339/],
    ['no offset', HEADER.replace('10:00:00Z', '10:00:00'), 'snapshot.created_at', /RFC 3339/],
    ['version 3', HEADER.replace('version = 1', 'version = 3'), 'snapshot.version', /unsupported version 3/],
    ['bad parent', HEADER + 'parent = "ABC"\n', 'snapshot.parent', /64 lowercase hex/],
    ['short signature', HEADER + 'sig = { ed25519 = "AAAA", key_id = "' + 'a'.repeat(64) + '" }\n', 'snapshot.sig.ed25519', /64 bytes/],
    ['relative path', HEADER + '[[files.entry]]\nlocal_path = "Documentos"\nblob = "sha256:' + '1'.repeat(64) + '"\nsha256 = "' + '2'.repeat(64) + '"\nsize = 1\n', 'files.entry[0].local_path', /must start with/],
    ['dot-dot path', HEADER + '[[files.entry]]\nlocal_path = "~/a/../../etc"\nblob = "sha256:' + '1'.repeat(64) + '"\nsha256 = "' + '2'.repeat(64) + '"\nsize = 1\n', 'files.entry[0].local_path', /"\.\." component/],
    ['bad sha256', HEADER + '[[files.entry]]\nlocal_path = "~/a"\nblob = "sha256:' + '1'.repeat(64) + '"\nsha256 = "xyz"\nsize = 1\n', 'files.entry[0].sha256', /64 lowercase hex/],
    ['negative size', HEADER + '[[files.entry]]\nlocal_path = "~/a"\nblob = "sha256:' + '1'.repeat(64) + '"\nsha256 = "' + '2'.repeat(64) + '"\nsize = -1\n', 'files.entry[0].size', /non-negative integer/],
    ['bad base64', HEADER + '[secrets.k]\npath = "~/.netrc"\nmode = "0600"\nsealed = "not base64!"\n', 'secrets.k.sealed', /base64/],
    ['bad mode', HEADER + '[secrets.k]\npath = "~/.netrc"\nmode = "600"\nsealed = "' + 'A'.repeat(64) + '"\n', 'secrets.k.mode', /octal/],
    ['bad package', HEADER + '[apps]\napt = ["ok", "Not OK"]\n', 'apps.apt[1]', /Debian package/],
    ['duplicate package', HEADER + '[apps]\napt = ["jq", "jq"]\n', 'apps.apt[1]', /duplicate entry "jq"/],
    ['flatpak scope', HEADER + '[apps]\nflatpak = [{ ref = "app/a.b/x86_64/stable", origin = "flathub", scope = "everyone" }]\n', 'apps.flatpak[0].scope', /one of "system", "user"/],
    ['removed in full', HEADER + '[removed]\napt = ["jq"]\n', 'removed', /full snapshot/],
    ['repo without source', HEADER + '[[repos.entry]]\nslug = "x"\npath = "~/x"\nbranch = "main"\n', 'repos.entry[0]', /url, a bundle/],
    ['huge integer', HEADER + '[files]\nx = 99999999999999999999\n', 'files.x', /out of range/],
    ['proto key', HEADER + '[system]\n__proto__ = "x"\n', undefined, /invalid TOML/],
  ])('refuses %s', (_name, text, field, reason) => {
    const e = parseError(text);
    expect(e.field).toBe(field);
    expect(e.reason + e.message).toMatch(reason);
    expect(e.position?.line ?? 0).toBeGreaterThan(0);
  });
});
