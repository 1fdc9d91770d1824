/**
 * The KVG manifest core: pure functions, no disk or network.
 * parse → validate → (canonical bytes, id, signature) → chain → fold / diff.
 */
export type * from './types.ts';
export { SECTIONS } from './types.ts';
export { ManifestParseError, VerificationError, type VerificationReason, type SourcePosition } from './errors.ts';
export { parse } from './parse.ts';
export { decodeManifest } from './decode.ts';
export { MAX_MANIFEST_BYTES, MAX_MANIFEST_DEPTH, MAX_MANIFEST_ENTRIES, MAX_MANIFEST_TABLES } from './limits.ts';
export { serialize } from './serialize.ts';
export { canonicalBytes, snapshotId, sameData, jcs } from './canonical.ts';
export { sign, verifySignature } from './signature.ts';
export { fold, normalize } from './fold.ts';
export { diff } from './diff.ts';
export { resolveChain, MAX_CHAIN_DEPTH, type ChainLink, type ResolvedChain } from './chain.ts';
export { blobRefs, blobHex } from './blob-refs.ts';
export { KEYED_LISTS } from './keyed-lists.ts';
export { isHostname, isRfc3339, pathProblem } from './validate.ts';
