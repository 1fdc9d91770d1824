/**
 * bench/ed25519.ts — why the project's Ed25519 path is node:crypto and not
 * @noble/ed25519 (the listed library): verify throughput of both in one run,
 * on the same keys and messages. Run: node --import tsx bench/ed25519.ts
 */
import { createHash } from 'node:crypto';
import * as noble from '@noble/ed25519';
import { ed25519Sign, ed25519Verify, generateEd25519 } from '../src/keys/ed25519.ts';

noble.hashes.sha512 = (m: Uint8Array) => new Uint8Array(createHash('sha512').update(m).digest());
const key = generateEd25519();
const msgs = Array.from({ length: 200 }, (_, i) => new TextEncoder().encode(`manifest ${i} `.repeat(40)));
const sigs = msgs.map((m) => ed25519Sign(key.seed, m));

function opsPerSec(fn: (i: number) => boolean, ms = 1500): number {
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (!fn(n % msgs.length)) throw new Error('verify failed');
    n++;
  }
  return n / (ms / 1000);
}

const node = opsPerSec((i) => ed25519Verify(key.publicKey, msgs[i]!, sigs[i]!));
const nob = opsPerSec((i) => noble.verify(sigs[i]!, msgs[i]!, key.publicKey));
console.log(`Ed25519 verify: node:crypto ${node.toFixed(0)} ops/s, @noble/ed25519 ${nob.toFixed(0)} ops/s, ratio noble/node ${(nob / node).toFixed(3)}`);
console.log(`101-link chain, verify only: node:crypto ${((101 / node) * 1000).toFixed(1)} ms, noble ${((101 / nob) * 1000).toFixed(1)} ms`);
