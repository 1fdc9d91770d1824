import { describe, expect, it } from 'vitest';
import {
  ManifestParseError, VerificationError, parse, resolveChain, serialize, sign, snapshotId, verifySignature, normalize, type Manifest,
} from '../../src/manifest/index.ts';
import { chainFrom, fixtureText, sampleFulls, testKey } from '../helpers/manifests.ts';
import { mulberry32 } from '../helpers/prng.ts';

const alice = testKey('alice');
const mallory = testKey('mallory');

async function refusal(p: Promise<unknown>): Promise<VerificationError | ManifestParseError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof VerificationError || e instanceof ManifestParseError) return e;
    throw e;
  }
  throw new Error('expected the chain to be refused, but it was accepted');
}

describe('signatures', () => {
  const m = parse(fixtureText(), 'full.kvg');

  it('signs and verifies; the signature is not part of the id', () => {
    const signed = sign(m, alice.seed);
    expect(verifySignature(signed, [mallory.publicKey, alice.publicKey])).toBe(signed.snapshot.sig!.key_id);
    expect(snapshotId(signed)).toBe(snapshotId(m));
    expect(parse(serialize(signed), 's').snapshot.sig).toEqual(signed.snapshot.sig);
  });

  it('refuses unsigned, unknown key, and a changed field', () => {
    expect(() => verifySignature(m, [alice.publicKey])).toThrow(expect.objectContaining({ reason: 'unsigned' }));
    const signed = sign(m, alice.seed);
    expect(() => verifySignature(signed, [mallory.publicKey])).toThrow(expect.objectContaining({ reason: 'unknown-key' }));
    const changed = structuredClone(signed);
    changed.apps!.apt!.push('netcat-openbsd');
    expect(() => verifySignature(changed, [alice.publicKey])).toThrow(expect.objectContaining({ reason: 'bad-signature' }));
    // Mallory signs with her key but claims Alice's key id.
    const forged = sign(changed, mallory.seed);
    forged.snapshot.sig!.key_id = signed.snapshot.sig!.key_id;
    expect(() => verifySignature(forged, [alice.publicKey])).toThrow(expect.objectContaining({ reason: 'bad-signature' }));
  });
});

describe('resolveChain', () => {
  const fulls = sampleFulls();
  const built = chainFrom(fulls, alice.seed);
  const leaf = built.ids[2]!;

  it('verifies a 3-link chain and folds it to the leaf full manifest', async () => {
    const { chain, folded } = await resolveChain(leaf, built.fetch, [alice.publicKey]);
    expect(chain.map((l) => l.id)).toEqual(built.ids);
    expect(chain[1]!.manifest.snapshot.parent).toBe(built.ids[0]);
    // deltas carry only what changed
    expect(chain[1]!.manifest.apps?.apt).toEqual(['htop']);
    expect(chain[2]!.manifest.removed?.apt).toEqual(['vim']);
    expect(chain[2]!.manifest.removed?.system).toEqual(['gpu_driver']);
    const expected = normalize(fulls[2]!);
    expect(folded).toEqual(expected);
    expect(folded.apps?.apt).toEqual(['git', 'htop', 'jq', 'tree']);
    expect(folded.system?.gpu_driver).toBeUndefined();
    expect(folded.system?.timezone).toBe('America/Recife');
  });

  it('refuses a chain signed by a key the user does not own', async () => {
    const e = await refusal(resolveChain(leaf, built.fetch, [mallory.publicKey]));
    expect(e).toMatchObject({ reason: 'unknown-key' });
  });

  it('refuses a removed signature anywhere in the chain', async () => {
    const texts = new Map(built.texts);
    const mid = parse(texts.get(built.ids[1]!)!, 'mid');
    delete mid.snapshot.sig;
    texts.set(built.ids[1]!, serialize(mid));
    const e = await refusal(resolveChain(leaf, async (id) => texts.get(id)!, [alice.publicKey]));
    expect(e).toMatchObject({ reason: 'unsigned', subject: `snapshot ${built.ids[1]}` });
  });

  it('refuses content that does not hash to the id asked for (substituted parent)', async () => {
    const other = chainFrom([fulls[1]!], alice.seed); // a different, validly signed full snapshot
    const texts = new Map(built.texts);
    texts.set(built.ids[0]!, other.texts.get(other.ids[0]!)!);
    const e = await refusal(resolveChain(leaf, async (id) => texts.get(id)!, [alice.publicKey]));
    expect(e).toMatchObject({ reason: 'parent-mismatch' });
  });

  it('refuses a swapped parent even when re-signed by an attacker key', async () => {
    const leafM = parse(built.texts.get(leaf)!, 'leaf');
    leafM.snapshot.parent = built.ids[0];
    const resigned = sign(leafM, mallory.seed);
    const texts = new Map(built.texts);
    texts.set(snapshotId(resigned), serialize(resigned));
    const e = await refusal(resolveChain(snapshotId(resigned), async (id) => texts.get(id)!, [alice.publicKey]));
    expect(e).toMatchObject({ reason: 'unknown-key' });
  });

  it('refuses a reordered chain', async () => {
    // Serve the root's text for the leaf id and the leaf's for the root id.
    const texts = new Map(built.texts);
    texts.set(leaf, built.texts.get(built.ids[0]!)!);
    texts.set(built.ids[0]!, built.texts.get(leaf)!);
    const e = await refusal(resolveChain(leaf, async (id) => texts.get(id)!, [alice.publicKey]));
    expect(e).toMatchObject({ reason: 'id-mismatch' });
  });

  it('refuses a parent of another user', async () => {
    const bobRoot = structuredClone(fulls[0]!);
    bobRoot.snapshot.koder_user_id = 'bob';
    const bob = chainFrom([bobRoot], alice.seed);
    const child = structuredClone(built.manifests[1]!);
    child.snapshot.parent = bob.ids[0];
    const signed = sign(child, alice.seed);
    const texts = new Map([...built.texts, ...bob.texts, [snapshotId(signed), serialize(signed)]]);
    const e = await refusal(resolveChain(snapshotId(signed), async (id) => texts.get(id)!, [alice.publicKey]));
    expect(e).toMatchObject({ reason: 'parent-mismatch' });
    expect(e.message).toMatch(/another user/);
  });

  it('bounds the depth', async () => {
    const e = await refusal(resolveChain(leaf, built.fetch, [alice.publicKey], { maxDepth: 2 }));
    expect(e).toMatchObject({ reason: 'too-deep' });
  });

  it('rejects random single-byte mutations of any link, unless the data is unchanged', async () => {
    let rejected = 0, harmless = 0;
    const rnd = mulberry32(42);
    const original = await resolveChain(leaf, built.fetch, [alice.publicKey]);
    for (let i = 0; i < 600; i++) {
      const target = built.ids[i % 3]!;
      const text = Buffer.from(built.texts.get(target)!, 'utf8');
      const pos = Math.floor(rnd() * text.length);
      const old = text[pos]!;
      let b = Math.floor(rnd() * 256);
      if (b === old) b = (b + 1) % 256;
      text[pos] = b;
      const texts = new Map(built.texts);
      texts.set(target, text.toString('utf8'));
      try {
        const r = await resolveChain(leaf, async (id) => texts.get(id)!, [alice.publicKey]);
        // Accepted only if TOML formatting changed and the data did not (e.g. a space became a tab).
        expect(r.chain.map((l) => snapshotId(l.manifest))).toEqual(original.chain.map((l) => l.id));
        expect(r.folded).toEqual(original.folded);
        harmless++;
      } catch (e) {
        expect(e instanceof VerificationError || e instanceof ManifestParseError).toBe(true);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(550);
    expect(rejected + harmless).toBe(600);
  });
});

export type { Manifest };
