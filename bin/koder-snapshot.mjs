#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=4 --initial-old-space-size=64
// Development entry: runs the TypeScript sources through tsx. The Debian
// package ships a bundled build instead (see scripts/ and issue "deb").
// The shebang starts node as the bundle does: src/util/process-tuning.ts says why.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
