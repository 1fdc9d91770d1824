import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { canonicalBytes, parse, resolveChain, sign, snapshotId, verifySignature } from '../../src/manifest/index.ts';
import { keyIdOf, publicKeyFromSeed } from '../../src/keys/ed25519.ts';

const read = (name: string) => readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8');
const names = ['root', 'delta1', 'delta2'] as const;
const key = JSON.parse(read('key.json')) as { seed_hex: string; public_key_base64: string; key_id: string };
const ids = JSON.parse(read('ids.json')) as Record<(typeof names)[number], string>;
const publicKey = new Uint8Array(Buffer.from(key.public_key_base64, 'base64'));

describe('test vectors (docs/manifest.md)', () => {
  it('the key id is sha256 of the raw public key, derived from the seed', () => {
    expect(Buffer.from(publicKeyFromSeed(Buffer.from(key.seed_hex, 'hex'))).toString('base64')).toBe(key.public_key_base64);
    expect(keyIdOf(publicKey)).toBe(key.key_id);
  });

  it.each(names)('%s: canonical bytes, id and signature reproduce exactly', (name) => {
    const m = parse(read(`${name}.kvg`), `${name}.kvg`);
    expect(Buffer.from(canonicalBytes(m)).toString('utf8')).toBe(read(`${name}.canonical.json`));
    expect(snapshotId(m)).toBe(ids[name]);
    expect(verifySignature(m, [publicKey])).toBe(key.key_id);
    // Ed25519 is deterministic: signing again gives the very same signature.
    expect(sign(m, Buffer.from(key.seed_hex, 'hex')).snapshot.sig).toEqual(m.snapshot.sig);
  });

  it('the chain resolves and folds to folded.json', async () => {
    const texts = new Map(names.map((n) => [ids[n], read(`${n}.kvg`)]));
    const { chain, folded } = await resolveChain(ids.delta2, async (id) => texts.get(id)!, [publicKey]);
    expect(chain.map((l) => l.id)).toEqual(names.map((n) => ids[n]));
    expect(folded).toEqual(JSON.parse(read('folded.json')));
  });
});
