#!/usr/bin/env -S node --max-semi-space-size=4
// Development entry: runs the TypeScript sources through tsx. The Debian
// package ships a bundled build instead (see scripts/ and issue "deb").
// --max-semi-space-size=4: as the bundle (scripts/deb.ts) — a files restore
// otherwise lets V8 grow the young generation by ≈ 30 MiB (bench/README.md).
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
