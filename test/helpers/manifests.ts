/** Builders for signed manifests and chains, shared by tests and benches. */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { diff, parse, serialize, sign, snapshotId, type Manifest } from '../../src/manifest/index.ts';
import { publicKeyFromSeed } from '../../src/keys/ed25519.ts';

export const fixtureText = (name = 'full.kvg') => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

/** A deterministic Ed25519 seed (test keys only). */
export function testSeed(label: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`koder-snapshot test key ${label}`).digest());
}

export function testKey(label: string) {
  const seed = testSeed(label);
  return { seed, publicKey: publicKeyFromSeed(seed) };
}

export interface BuiltChain {
  /** Root first. */
  ids: string[];
  texts: Map<string, string>;
  manifests: Manifest[];
  fulls: Manifest[];
  fetch: (id: string) => Promise<string>;
}

/**
 * Signs a sequence of full manifests as a chain: the first as a full
 * snapshot, each next one as the delta from its predecessor.
 */
export function chainFrom(fulls: Manifest[], seed: Uint8Array): BuiltChain {
  const ids: string[] = [];
  const texts = new Map<string, string>();
  const manifests: Manifest[] = [];
  fulls.forEach((full, i) => {
    const unsigned = i === 0 ? full : diff(fulls[i - 1]!, full, ids[i - 1]);
    const signed = sign(unsigned, seed);
    const text = serialize(signed);
    const id = snapshotId(signed);
    ids.push(id);
    texts.set(id, text);
    manifests.push(signed);
  });
  return {
    ids, texts, manifests, fulls,
    fetch: async (id) => {
      const t = texts.get(id);
      if (t === undefined) throw new Error(`no snapshot ${id}`);
      return t;
    },
  };
}

/** The fixture manifest, then two edits of it: a 3-link chain. */
export function sampleFulls(): Manifest[] {
  const root = parse(fixtureText(), 'full.kvg');
  const second = structuredClone(root);
  second.snapshot.created_at = '2026-06-01T09:00:00Z';
  second.apps!.apt = [...second.apps!.apt!, 'htop'];
  second.system!.timezone = 'America/Recife';
  const third = structuredClone(second);
  third.snapshot.created_at = '2026-06-08T09:00:00-03:00';
  third.apps!.apt = third.apps!.apt!.filter((p) => p !== 'vim');
  delete third.system!.gpu_driver;
  third.files!.entry!.push({ local_path: '~/Imagens', blob: `sha256:${'5'.repeat(64)}`, sha256: '6'.repeat(64), size: 10 });
  return [root, second, third];
}
