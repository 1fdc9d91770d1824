import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { diff, fold, normalize, parse, serialize, type Manifest } from '../../src/manifest/index.ts';

const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
const word = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 2, maxLength: 8 });
const text = fc.string({ maxLength: 12 }).filter((s) => s.length > 0 && !/[\u0000-\u001f\u007f]/.test(s));
// Keys come from a small set so that parent and child often share keys with different values.
const key = fc.constantFrom('aa', 'bb', 'cc', 'dd', 'ee');
const home = key.map((w) => `~/${w}`);

function uniqueBy<T>(arb: fc.Arbitrary<T>, key: (t: T) => string, max = 6) {
  return fc.uniqueArray(arb, { selector: key, maxLength: max });
}

const system = fc.record(
  {
    timezone: fc.constantFrom('UTC', 'America/Sao_Paulo', 'Europe/Lisbon'),
    locale: fc.constantFrom('pt_BR.UTF-8', 'en_US.UTF-8', 'C.UTF-8'),
    keyboard: fc.constantFrom('br', 'us(intl)', 'us,br'),
    gpu_driver: fc.constantFrom('nvidia', 'amdgpu', 'i915'),
    future_flag: fc.boolean(),
    gsettings: fc.dictionary(fc.constantFrom('org.gnome.a', 'org.gnome.b', 'org.x.y'), fc.dictionary(key, text, { maxKeys: 3 }), { maxKeys: 3 }),
  },
  { requiredKeys: [] },
);

const apps = fc.record(
  {
    apt: fc.uniqueArray(key, { maxLength: 5 }),
    kpkg: fc.uniqueArray(key, { maxLength: 3 }),
    snap: uniqueBy(fc.record({ name: key, channel: fc.constantFrom('latest/stable', 'edge') }, { requiredKeys: ['name', 'channel'] }), (s) => s.name),
    flatpak: uniqueBy(fc.record({ ref: key.map((w) => `app/org.${w}/x86_64/stable`), origin: fc.constantFrom('flathub', 'koder'), scope: fc.constantFrom('system' as const, 'user' as const) }), (f) => f.ref),
    apt_sources: uniqueBy(fc.record({ name: key, deb822: fc.constantFrom('Types: deb\nURIs: https://a/\nSuites: x\n', 'Types: deb\nURIs: https://b/\n') }), (s) => s.name),
  },
  { requiredKeys: [] },
);

const repos = fc.record({ entry: uniqueBy(fc.record({ slug: word, url: word.map((w) => `https://flow.koder.dev/${w}.git`), path: home, branch: fc.constantFrom('main', 'dev'), dirty: fc.boolean() }), (r) => r.path) });
const files = fc.record({ entry: uniqueBy(fc.record({ local_path: home, blob: hex(64).map((h) => `sha256:${h}` as const), sha256: hex(64), size: fc.nat() }), (f) => f.local_path) });
const secrets = fc.dictionary(key, fc.record({ path: home, mode: fc.constantFrom('0600', '0700'), sealed: fc.constantFrom('A'.repeat(64), 'B'.repeat(64)) }), { maxKeys: 3 });
const skips = fc.record({ patterns: fc.uniqueArray(key, { maxLength: 4 }) });

const manifest: fc.Arbitrary<Manifest> = fc
  .record({ system, apps, repos, files, secrets, skips, host: word, at: fc.constantFrom('2026-05-21T10:00:00Z', '2026-06-01T00:00:00+02:00') }, { requiredKeys: ['host', 'at'] })
  .map(({ host, at, ...sections }) => ({ snapshot: { version: 1 as const, hostname: host, created_at: at, koder_user_id: 'u' }, ...sections }) as Manifest);

describe('delta semantics', () => {
  it('fold(parent, diff(parent, child)) == child, for random manifests', () => {
    fc.assert(
      fc.property(manifest, manifest, (parent, child) => {
        const delta = diff(parent, child, 'a'.repeat(64));
        expect(fold([parent, delta])).toEqual(normalize(child));
      }),
      { numRuns: 400 },
    );
  });

  it('every generated manifest and delta is valid and round-trips through TOML', () => {
    fc.assert(
      fc.property(manifest, manifest, (parent, child) => {
        for (const m of [child, diff(parent, child, 'b'.repeat(64))]) {
          expect(parse(serialize(m), 'gen.kvg')).toEqual(m);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a diff of identical manifests carries only the header', () => {
    fc.assert(
      fc.property(manifest, (m) => {
        const d = diff(m, m, 'c'.repeat(64));
        expect(Object.keys(d)).toEqual(['snapshot']);
      }),
      { numRuns: 100 },
    );
  });

  it('folds a long chain of deltas in order', () => {
    fc.assert(
      fc.property(fc.array(manifest, { minLength: 2, maxLength: 8 }), (fulls) => {
        const chain = fulls.map((m, i) => (i === 0 ? m : diff(fulls[i - 1]!, m, 'd'.repeat(64))));
        expect(fold(chain)).toEqual(normalize(fulls[fulls.length - 1]!));
      }),
      { numRuns: 100 },
    );
  });
});
